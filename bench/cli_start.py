"""How long the command line takes to start (issue 13 item 12), against a bare Python and a
bare Flask app's command line measured in the same run.

    uv run python -m bench.cli_start [--runs 5]

Each is run as a fresh process (what an operator waits for); the best of the runs is kept, as
the machine's other work only ever adds time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

CONTINUUM = "import sys; sys.argv = ['continuum', {args}]; from app.cli import main; main()"
COMMANDS = {
    "python (bare)": [sys.executable, "-c", "pass"],
    "flask --help (bare app)": [
        sys.executable,
        "-c",
        "import sys; from flask import Flask; from flask.cli import FlaskGroup; "
        "sys.argv = ['flask', '--help']; FlaskGroup(create_app=lambda: Flask('bare'))()",
    ],
    "continuum --help": [sys.executable, "-c", CONTINUUM.format(args="'--help'")],
    "continuum releases --help": [
        sys.executable,
        "-c",
        CONTINUUM.format(args="'releases', '--help'"),
    ],
}


def best_of(command: list[str], runs: int, env: dict[str, str]) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=True)  # noqa: S603
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as instance:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")},
            "CONTINUUM_INSTANCE_PATH": instance,
        }
        times = {name: best_of(command, runs, env) for name, command in COMMANDS.items()}
    bare = times["flask --help (bare app)"]
    print(f"{'command':<28} {'seconds':>8} {'x bare flask':>13}")
    for name, seconds in times.items():
        print(f"{name:<28} {seconds:8.2f} {seconds / bare:13.1f}")


if __name__ == "__main__":
    main()
