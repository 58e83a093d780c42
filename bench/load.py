"""The service under load (issue 13): `wrk` against gunicorn serving the real app on loopback,
each read and write beside a bare Flask route returning JSON of the same size, served by the
same gunicorn settings in the same run.

    uv run python -m bench.load [--backend sqlite|postgresql|both] [--seconds 10]
                                [--connections 8] [--workers 2] [--families 60]

Each backend gets a fresh instance folder and database with the demo's histories (no background
families), a personal API token for POPS's Liverpool caseworker, and gunicorn with
config/gunicorn.conf.py (gthread, 4 threads a worker). Measured, each for ``--seconds``:
the API family read of one case, the same family page in HTML (a browser session signed in
with the demo caseworker's password and TOTP code), the case list, a search by prison number, and
a note written (each a new note: an audited write); then the bare route at each of their sizes,
and the hand-written floor (bench/floor_app.py: the API family read's reads, field decrypts and
audit insert in plain SQL, no framework and no walls). Printed: requests/s, p50 and p99 latency,
each as a ratio of the bare route, and the family reads as a ratio of the floor (issue 13's
target: the API family read at least 0.5x the floor). Reported, never asserted.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench.isolation import APP_ROLE, OWNER_ROLE
from bench.roles import throwaway_server
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
CLI = "import sys; from app.cli import main; sys.argv[0] = 'continuum'; main()"
# Strong session protection (app/web/security.py) binds a browser session to its address and
# User-Agent: the sign-in and wrk send the same one.
USER_AGENT = "continuum-bench"
SIGNED_IN_USER = ("pops", "liverpool.worker")
WRITE_SCRIPT = """
wrk.method = "POST"
wrk.body = '{"body": "A call about the visit on Tuesday (load test)."}'
wrk.headers["Content-Type"] = "application/json"
"""


def _continuum(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-c", CLI, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@contextmanager
def _gunicorn(env: dict[str, str], app: str, log: Path) -> Iterator[str]:
    port = free_port()
    env = {**env, "CONTINUUM_BIND": f"127.0.0.1:{port}"}
    command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", app]
    with log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1).read()  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"gunicorn did not start; see {log}")
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def _get(url: str, token: str) -> bytes:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return bytes(response.read())


def _sign_in(url: str, env: dict[str, str], folder: Path) -> str:
    """The demo caseworker signed in through the real pages (password, then the TOTP code the
    demo's own command prints by the app's clock); returns the session cookie's value."""
    org, username = SIGNED_IN_USER
    password = json.loads((folder / "demo-credentials.json").read_text())[f"{org}/{username}"][
        "password"
    ]
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    browser.addheaders = [("User-Agent", USER_AGENT)]

    def post(path: str, fields: dict[str, str]) -> str:
        page = browser.open(f"{url}{path}", timeout=10).read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        if token is None:
            raise RuntimeError(f"no CSRF token on {path}")
        body = urllib.parse.urlencode({**fields, "csrf_token": token.group(1)}).encode()
        return str(browser.open(f"{url}{path}", data=body, timeout=10).geturl())

    post(f"/o/{org}/login", {"username": username, "password": password})
    code = _continuum(env, "demo-code", f"{org}/{username}").strip().splitlines()[-1]
    landed = post(f"/o/{org}/login/code", {"code": code})
    cookie = next((c.value for c in jar if c.name == "continuum_session"), None)
    if cookie is None or "/login" in landed:
        raise RuntimeError(f"sign-in as {org}/{username} failed (landed on {landed})")
    return cookie


def _page(url: str, cookie: str) -> bytes:
    request = urllib.request.Request(  # noqa: S310
        url, headers={"Cookie": f"continuum_session={cookie}", "User-Agent": USER_AGENT}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        if "/login" in response.geturl():
            raise RuntimeError(f"the signed-in session was refused at {url}")
        return bytes(response.read())


def _wrk(
    url: str,
    seconds: int,
    connections: int,
    token: str | None,
    script: Path | None,
    cookie: str | None = None,
) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    if cookie:
        command[1:1] = [
            "-H",
            f"Cookie: continuum_session={cookie}",
            "-H",
            f"User-Agent: {USER_AGENT}",
        ]
    if script:
        command[1:1] = ["-s", str(script)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rate": rate,
        "p50": _percentile(out, 50),
        "p99": _percentile(out, 99),
        "errors": int(errors.group(1)) if errors else 0,
    }


def _percentile(out: str, which: int) -> float:
    """A line of wrk's latency distribution ("     99%    4.21ms"), in milliseconds."""
    found = re.search(rf"^\s+{which}%\s+(\S+)\s*$", out, re.MULTILINE)
    if found is None:
        raise ValueError(f"no {which}% latency in wrk's output:\n{out}")
    return _millis(found.group(1))


def _millis(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _find(node: Any, key: str) -> Any:
    """The first value named ``key`` anywhere in a JSON document."""
    if isinstance(node, dict):
        if key in node:
            return node[key]
        node = list(node.values())
    if isinstance(node, list):
        for child in node:
            if (found := _find(child, key)) is not None:
                return found
    return None


def measure(backend: str, urls: tuple[str, str, str], folder: Path, args: Any) -> dict:
    """Every measurement of one backend: ``rows`` (what, bytes, app figures, bare figures) and
    ``floor`` (bytes, figures) for the hand-written family read."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTINUUM_")}
    env |= {
        "CONTINUUM_INSTANCE_PATH": str(folder),
        "CONTINUUM_DATABASE_URL": urls[0],
        "CONTINUUM_MIGRATION_DATABASE_URL": urls[1],
        "CONTINUUM_WORKERS": str(args.workers),
    }
    _continuum(env, "demo", "--no-serve", "--background", "0", "--families", str(args.families))
    token = _continuum(env, "tokens", "create", "--org", "pops", "--username", "liverpool.worker")
    token = token.strip().splitlines()[-1]
    script = folder / "write.lua"
    script.write_text(WRITE_SCRIPT)
    rows = []
    with _gunicorn(env, "app:create_app()", folder / "app.log") as url:
        listed = json.loads(_get(f"{url}/api/v1/cases", token))["items"]
        # Notes are written to another case, so the family read (and the floor's, after) reads
        # the same family throughout.
        case = listed[0]
        written = next(c for c in listed[1:] if c["status"] not in ("closed", "transferred_out"))
        family = f"{url}/api/v1/cases/{case['id']}/family"
        number = _find(json.loads(_get(family, token)), "prison_number")
        page = f"{url}/cases/{case['id']}"
        cookie = _sign_in(url, env, folder)
        html = _page(page, cookie)
        if case["reference"].encode() not in html:
            raise RuntimeError("the HTML family page does not show the case")
        targets = {
            "family read (API)": family,
            "case list (API)": f"{url}/api/v1/cases",
            "search by prison number": f"{url}/api/v1/search?q={number}",
        }
        sizes = {what: len(_get(target, token)) for what, target in targets.items()}
        for what, target in targets.items():
            rows.append(
                (what, sizes[what], _wrk(target, args.seconds, args.connections, token, None))
            )
            if what == "family read (API)":
                figures = _wrk(page, args.seconds, args.connections, None, None, cookie)
                # wrk counts a redirect as a success: the session must still be signed in.
                _page(page, cookie)
                rows.append(("family page (HTML)", len(html), figures))
        note = f"{url}/api/v1/cases/{written['id']}/notes"
        rows.append(
            ("note written (API)", 0, _wrk(note, args.seconds, args.connections, token, script))
        )
    floor_env = {
        **env,
        "BENCH_FLOOR_DATABASE": urls[2],
        "BENCH_FLOOR_ROOT_KEY": str(folder / "root.key"),
    }
    with _gunicorn(floor_env, "bench.floor_app:create()", folder / "floor.log") as url:
        target = f"{url}/api/v1/cases/{case['id']}/family"
        answer = json.loads(_get(target, token))
        if _find(answer, "prison_number") != number:
            raise RuntimeError("the floor's family read does not match the app's")
        floor = (
            len(json.dumps(answer, sort_keys=True)),
            _wrk(target, args.seconds, args.connections, token, None),
        )
    bare_env = {**env, "BENCH_BARE": "1"}
    measured = []
    with _gunicorn(bare_env, "bench.bare_app:create()", folder / "bare.log") as url:
        for what, size, figures in rows:
            bare = _wrk(
                f"{url}/json?bytes={size or 200}", args.seconds, args.connections, None, None
            )
            measured.append((what, size, figures, bare))
    return {"rows": measured, "floor": floor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--families", type=int, default=60)
    args = parser.parse_args()
    results = []
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="continuum-load-")))
        if args.backend in ("sqlite", "both"):
            folder = tmp / "sqlite"
            folder.mkdir()
            url = f"sqlite:///{folder / 'load.sqlite3'}"
            results.append(("sqlite", measure("sqlite", (url, url, url), folder, args)))
        if args.backend in ("postgresql", "both"):
            server = throwaway_server(stack, "continuum_load")
            if server is not None:
                folder = tmp / "pg"
                folder.mkdir()
                urls = (
                    server.url("continuum_load", user=APP_ROLE),
                    server.url("continuum_load", user=OWNER_ROLE),
                    # The floor has no walls: as the superuser, whom row-level security skips.
                    server.url("continuum_load", driver="postgresql"),
                )
                results.append(("postgresql", measure("postgresql", urls, folder, args)))
    print(
        f"\nLoad: wrk, {args.connections} connections, {args.seconds} s each, gunicorn "
        f"{args.workers} workers x 4 threads, loopback; ratio = the app's / the bare route's"
    )
    print(
        f"{'backend':<11} {'request':<24} {'bytes':>6} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'errors':>6} {'bare req/s':>10} {'ratio':>6} {'p50 x':>6}"
    )
    for backend, measured in results:
        for what, size, app, bare in measured["rows"]:
            print(
                f"{backend:<11} {what:<24} {size:>6} {app['rate']:>8.1f} {app['p50']:>7.1f}"
                f" {app['p99']:>7.1f} {app['errors']:>6} {bare['rate']:>10.1f}"
                f" {app['rate'] / bare['rate']:>6.3f} {app['p50'] / bare['p50']:>6.1f}"
            )
    print(
        "\nThe family read against the hand-written floor (bench/floor_app.py: the same reads,"
        " decrypts and audit insert in plain SQL); target: the API read >= 0.5x the floor"
    )
    print(
        f"{'backend':<11} {'request':<24} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'floor req/s':>11} {'floor p50':>9} {'x floor':>7} {'target':>6}"
    )
    for backend, measured in results:
        size, floor = measured["floor"]
        for what, _size, app, _bare in measured["rows"]:
            if not what.startswith("family"):
                continue
            ratio = app["rate"] / floor["rate"]
            verdict = ("PASS" if ratio >= 0.5 else "MISS") if "API" in what else "-"
            print(
                f"{backend:<11} {what:<24} {app['rate']:>8.1f} {app['p50']:>7.1f}"
                f" {app['p99']:>7.1f} {floor['rate']:>11.1f} {floor['p50']:>9.1f}"
                f" {ratio:>7.3f} {verdict:>6}"
            )
        print(
            f"{backend:<11} (floor: {size} bytes, {floor['errors']} errors,"
            f" p99 {floor['p99']:.1f} ms)"
        )


if __name__ == "__main__":
    main()
