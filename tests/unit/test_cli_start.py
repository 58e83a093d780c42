"""The command line starts without what only some commands need (issue 13 item 12): listing the
commands must not load SciPy, which only building a release uses (its import was most of the
4 s `continuum --help` took). The time itself is measured in bench/cli_start.py, never here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LISTING = """
import sys
from app.cli import main
sys.argv = ["continuum", "--help"]
try:
    main()
except SystemExit as done:
    assert not done.code, done.code
print("loaded:", sorted(m for m in ("scipy", "numpy") if m in sys.modules))
"""


def test_listing_the_commands_loads_no_solver(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")},
        "CONTINUUM_INSTANCE_PATH": str(tmp_path),
    }
    done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [sys.executable, "-c", LISTING],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "releases" in done.stdout  # the command groups are listed
    assert done.stdout.strip().splitlines()[-1] == "loaded: []", done.stdout[-500:]
