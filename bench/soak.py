"""Faults under load (issue 13): mixed traffic from signed-in users of two charities against two
gunicorn workers on PostgreSQL, while a worker is killed with SIGKILL every minute and
PostgreSQL is restarted once; then what the database holds is checked against what the clients
were told.

    uv run python -m bench.soak [--minutes 10] [--kill-every 60] [--clients 6]
                                [--transfer-every 20] [--families 40]

Loopback only, bounded: a hard limit on the whole run (the minutes plus a setup and checking
allowance), and gunicorn and PostgreSQL are stopped and deleted in every case. The users are
POPS's Liverpool and Wakefield caseworkers and north-west manager, and NEPACS's Durham
caseworker and north-east manager (personal API tokens); transfers go in turn from POPS at
Liverpool to NEPACS at Durham and back, each accepted by the receiving manager. Pact, the
third charity the issue names, has no site manager in the demo to accept a transfer.

Afterwards (bench/soak_checks.py): every write answered 2xx is stored exactly once, none
answered with an error is, an unanswered one at most once; each has its one audit event; no
transfer is half done; ``continuum audit verify`` passes; no response carried another
charity's (or another prison's) ids or markers. Prints the counts; exits 1 on any violation.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.isolation import APP_ROLE, OWNER_ROLE
from bench.roles import throwaway_server
from bench.soak_checks import Findings, read_back
from bench.soak_traffic import Api, Caseworker, Recorder, Route, TransferDriver, User
from config.settings import GENERATED_ROOT_KEY
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
CLI = "import sys; from app.cli import main; sys.argv[0] = 'continuum'; main()"
DATABASE = "continuum_soak"
# (charity, username, prisons): the demo's accounts (app/demo/charities.py DEMO_USERS).
USERS = (
    ("pops", "liverpool.worker", ("LPI",)),
    ("pops", "wakefield.worker", ("WDI",)),
    ("pops", "nw.manager", ("LPI", "RSI", "HII")),
    ("nepacs", "durham.worker", ("DMI",)),
    ("nepacs", "ne.manager", ("DMI", "FKI", "LNI")),
)
# Setting up (the demo's seeding) and checking afterwards, on top of the traffic's minutes.
ALLOWANCE_SECONDS = 15 * 60


class Overrun(Exception):
    """The whole run went past its hard limit."""


@dataclass
class Faults:
    kills: int = 0
    respawned: int = 0
    restarts: int = 0
    restart_seconds: float = 0.0
    master_alive: bool = True


def _continuum(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-c", CLI, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=600,
    )


class Gunicorn:
    """The master process (in a session of its own, so everything it started can be stopped)."""

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process, self.port = process, port

    def workers(self) -> list[int]:
        """The master's children, from /proc."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after its ")".
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                found.append(int(entry.name))
        return sorted(found)


@contextmanager
def _gunicorn(env: dict[str, str], log: Path) -> Iterator[Gunicorn]:
    port = free_port()
    env = {**env, "CONTINUUM_BIND": f"127.0.0.1:{port}"}
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "config/gunicorn.conf.py",
        "app:create_app()",
    ]
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Gunicorn(process, port)
    try:
        _wait_until_ready(server, log)
        yield server
    finally:
        _stop_group(process)


def _wait_until_ready(server: Gunicorn, log: Path) -> None:
    for _ in range(600):
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {log}")
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
        try:
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not become ready; see {log}")


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _restart_postgres(server: Any) -> float:
    """``pg_ctl restart -m fast`` (it reuses the options the server was started with); seconds
    it took. The test support's server keeps its pg_ctl, data directory and user private: this
    is the one place outside it that needs them. The restarted server keeps pg_ctl's output, so
    that goes to the server's log, not to a pipe nobody would close."""
    base: Path = server._base_dir
    command = [server._pg_ctl, "-D", str(base / "data"), "-m", "fast", "-w", "restart"]
    run_as = server._run_as or ()
    if run_as and run_as[-1] == "-c":
        command = [*run_as, shlex.join(command)]
    else:
        command = [*run_as, *command]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    started = time.monotonic()
    with (base / "postgres.log").open("a") as log:
        subprocess.run(  # noqa: S603 - the server's own binaries
            command,
            cwd=base,
            stdin=subprocess.DEVNULL,
            env=env,
            stdout=log,
            stderr=log,
            check=True,
            timeout=120,
        )
    return time.monotonic() - started


def _kill_a_worker(gunicorn: Gunicorn, faults: Faults, rng: random.Random) -> None:
    workers = gunicorn.workers()
    if not workers:
        return
    victim = rng.choice(workers)
    os.kill(victim, signal.SIGKILL)
    faults.kills += 1
    # The master notices the death and forks a replacement; count it when it is there.
    for _ in range(100):
        now = gunicorn.workers()
        if victim not in now and len(now) >= len(workers):
            faults.respawned += 1
            return
        time.sleep(0.1)


def _inject(
    gunicorn: Gunicorn, server: Any, args: argparse.Namespace, faults: Faults, stop: threading.Event
) -> None:
    """Until the run's end: a worker killed every ``kill_every`` seconds, and PostgreSQL
    restarted once, halfway, between two kills."""
    rng = random.Random(13)
    started = time.monotonic()
    duration = args.minutes * 60
    # Halfway between the two kills either side of the run's middle.
    restart_at = (int(duration / 2 // args.kill_every) + 0.5) * args.kill_every
    next_kill = args.kill_every
    while True:
        elapsed = time.monotonic() - started
        if elapsed >= duration:
            return
        if faults.restarts == 0 and elapsed >= restart_at and server.managed:
            faults.restart_seconds = _restart_postgres(server)
            faults.restarts += 1
        if elapsed >= next_kill:
            _kill_a_worker(gunicorn, faults, rng)
            next_kill += args.kill_every
        stop.wait(0.2)


def _setup(
    env: dict[str, str], server: Any, args: argparse.Namespace
) -> tuple[tuple[User, ...], dict[str, str], str]:
    """The demo seeded, a token per user; the charities' ids and today's date (the service's
    day is the UTC date: read from the database's clock, not this process's)."""
    _continuum(env, "demo", "--no-serve", "--background", "0", "--families", str(args.families))
    users = []
    for charity, username, prisons in USERS:
        out = _continuum(env, "tokens", "create", "--org", charity, "--username", username).stdout
        users.append(User(charity, username, prisons, out.strip().splitlines()[-1]))
    with server.admin_connect(DATABASE) as conn:
        ids = {slug: str(i) for i, slug in conn.execute("SELECT id, slug FROM organisations")}
        (today,) = conn.execute("SELECT (now() AT TIME ZONE 'UTC')::date").fetchone()
    return tuple(users), ids, today.isoformat()


def _routes(users: tuple[User, ...], ids: dict[str, str]) -> tuple[Route, ...]:
    by = {user.key: user for user in users}
    return (
        Route(by["pops/liverpool.worker"], by["nepacs/ne.manager"], "LPI", "DMI", ids["nepacs"]),
        Route(by["nepacs/durham.worker"], by["pops/nw.manager"], "DMI", "LPI", ids["pops"]),
    )


def run(args: argparse.Namespace, stack: ExitStack) -> tuple[Findings, Faults, Recorder]:
    """Set up, drive the traffic through the faults, stop the service, check."""
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="continuum-soak-")))
    server = throwaway_server(stack, DATABASE)
    if server is None:
        sys.exit("soak: no PostgreSQL server could be started")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    env |= {
        "CONTINUUM_INSTANCE_PATH": str(tmp),
        "CONTINUUM_DATABASE_URL": server.url(DATABASE, user=APP_ROLE),
        "CONTINUUM_MIGRATION_DATABASE_URL": server.url(DATABASE, user=OWNER_ROLE),
        "CONTINUUM_WORKERS": "2",
    }
    print(f"soak: seeding the demo ({args.families} families) on PostgreSQL...", flush=True)
    users, ids, today = _setup(env, server, args)
    recorder, faults, stop = Recorder(), Faults(), threading.Event()
    with _gunicorn(env, tmp / "gunicorn.log") as gunicorn:
        api = Api("127.0.0.1", gunicorn.port, recorder)
        threads: list[threading.Thread] = [
            Caseworker(api, users[i % len(users)], today, stop, seed=i, think=args.think)
            for i in range(args.clients)
        ]
        threads.append(TransferDriver(api, _routes(users, ids), args.transfer_every, stop))
        print(f"soak: {args.clients} clients for {args.minutes} min...", flush=True)
        for thread in threads:
            thread.start()
        try:
            _inject(gunicorn, server, args, faults, stop)
            faults.master_alive = gunicorn.process.poll() is None
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
    print("soak: checking...", flush=True)
    findings = read_back(server.url(DATABASE), tmp / GENERATED_ROOT_KEY, recorder, users)
    verify = _continuum(env, "audit", "verify", check=False)
    chains = [line for line in verify.stdout.splitlines() if line.strip()]
    findings.counts["audit verify"] = {
        "exit code": verify.returncode,
        "chains": len(chains),
        "events in whole chains": sum(
            int(line.split()[2]) for line in chains if line.startswith("ok ")
        ),
    }
    if not faults.master_alive:
        findings.violated("the gunicorn master did not survive the faults")
    if verify.returncode != 0:
        findings.violated(f"continuum audit verify failed:\n{verify.stdout}{verify.stderr}")
    return findings, faults, recorder


def report(
    args: argparse.Namespace, findings: Findings, faults: Faults, recorder: Recorder
) -> None:
    """The counts, then every violation (the first 40)."""
    print(
        f"\nFaults under load: {args.minutes} min, {args.clients} clients, gunicorn 2 workers x 4"
        f" threads on PostgreSQL, loopback"
    )
    print(
        f"faults: {faults.kills} workers killed (SIGKILL), {faults.respawned} replaced by the"
        f" master; PostgreSQL restarted {faults.restarts} time(s) ({faults.restart_seconds:.1f} s)"
    )
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(recorder.statuses.items()))
    print(f"answers: {statuses}")
    heads = ("sent", "stored 0", "stored 1", "stored 2+")
    print(f"\n{'write':<8} {'answer':<8} " + " ".join(f"{h:>9}" for h in heads))
    for (kind, outcome), tally in sorted(findings.counts["writes"].items()):
        print(
            f"{kind:<8} {outcome:<8} {tally['sent']:>9} {tally['present 0']:>9}"
            f" {tally['present 1']:>9} {tally['present 2']:>9}"
        )
    print(f"audited writes: {findings.counts['audited writes']}")
    for section in ("transfers", "walls", "audit verify"):
        print(f"\n{section}:")
        for name, value in findings.counts[section].items():
            print(f"  {name:<32} {value}")
    print(f"\nviolations: {len(findings.violations)}")
    for violation in findings.violations[:40]:
        print(f"  {violation}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--kill-every", type=float, default=60, help="seconds between kills")
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument(
        "--transfer-every", type=float, default=20, help="seconds between transfers"
    )
    parser.add_argument("--families", type=int, default=40)
    parser.add_argument("--think", type=float, default=0.25, help="mean seconds between requests")
    args = parser.parse_args()

    def overrun(*_: Any) -> None:
        raise Overrun(f"the soak went past its hard limit of {limit} s")

    limit = int(args.minutes * 60) + ALLOWANCE_SECONDS
    signal.signal(signal.SIGALRM, overrun)
    signal.alarm(limit)
    try:
        with ExitStack() as stack:
            findings, faults, recorder = run(args, stack)
    finally:
        signal.alarm(0)
    report(args, findings, faults, recorder)
    sys.exit(1 if findings.violations else 0)


if __name__ == "__main__":
    main()
