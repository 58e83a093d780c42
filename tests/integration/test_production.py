"""Running Continuum for real (docs/production.md): the client's address behind proxies, the
settings production refuses, and the production command itself, gunicorn serving the app.
"""

from __future__ import annotations

import http.client
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app import create_app
from app.models.audit import AuditEntry
from config import Settings, SettingsError, load_settings
from config.settings import UnsafeProductionSettings
from tests.conftest import ROOT_KEY_FILE, Database, csrf_from
from tests.support.servers import free_port, stop, wait_until_listening

REPO = Path(__file__).resolve().parents[2]
GUNICORN_CONF = REPO / "config" / "gunicorn.conf.py"
# A value for this test run only; a real deployment's comes from its secret store.
PRODUCTION_SECRET = "a-production-signing-key-for-these-tests-" + "q" * 16
CLIENT = "203.0.113.9"
SPOOFED = "198.51.100.66"


# --- the client's address behind proxies -----------------------------------------------------


def _refused_sign_in(app: Flask, forwarded_for: str) -> int:
    client = app.test_client()
    page = client.get("/o/pops/login")
    return client.post(
        "/o/pops/login",
        data={"username": "pops.nobody", "password": "wrong", "csrf_token": csrf_from(page.text)},
        headers={"X-Forwarded-For": forwarded_for},
    ).status_code


def _sign_ins_from(app: Flask, source: str) -> int:
    with app.extensions["continuum"].session_factory() as session:
        found = select(func.count()).where(
            AuditEntry.action == "auth.sign_in", AuditEntry.source == source
        )
        return session.scalar(found) or 0


def test_with_no_trusted_proxy_a_forwarded_for_is_ignored(make_app):
    app = make_app(login_rate_limit="2 per hour")
    # Each attempt claims a new address; the limiter and the audit see the socket's peer.
    statuses = [_refused_sign_in(app, f"203.0.113.{n}") for n in range(1, 4)]
    assert statuses == [401, 401, 429]
    assert _sign_ins_from(app, "127.0.0.1") == 2
    assert _sign_ins_from(app, "203.0.113.1") == 0


def test_with_one_trusted_proxy_its_forwarded_for_is_the_client(make_app):
    app = make_app(login_rate_limit="2 per hour", trusted_proxies=1)
    statuses = [_refused_sign_in(app, f"203.0.113.{n}") for n in range(1, 4)]
    # Three clients behind the one proxy: each has a budget of its own.
    assert statuses == [401, 401, 401]
    assert _sign_ins_from(app, "203.0.113.1") == 1
    assert _sign_ins_from(app, "127.0.0.1") == 0


def test_one_trusted_proxy_believes_only_the_entry_it_added(make_app):
    app = make_app(login_rate_limit="2 per hour", trusted_proxies=1)
    # The client wrote the first entry itself; the proxy appended the address it saw.
    forged = [_refused_sign_in(app, f"{SPOOFED}{n}, {CLIENT}") for n in range(3)]
    assert forged == [401, 401, 429]
    assert _sign_ins_from(app, CLIENT) == 2
    assert _sign_ins_from(app, f"{SPOOFED}0") == 0


# --- settings --------------------------------------------------------------------------------


def _clean(environ: dict[str, str | None]) -> dict[str, str]:
    return {key: value for key, value in environ.items() if value is not None}


def _production(tmp_path: Path, **changes: str | None) -> Settings:
    """A correct production configuration, with ``changes`` (None removes a variable)."""
    environ: dict[str, str | None] = {
        "CONTINUUM_ENV": "production",
        "CONTINUUM_INSTANCE_PATH": str(tmp_path / "instance"),
        "CONTINUUM_SECRET_KEY": PRODUCTION_SECRET,
        "CONTINUUM_SECURE_COOKIES": "true",
        "CONTINUUM_RATE_LIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "CONTINUUM_ROOT_KEY_FILE": str(ROOT_KEY_FILE),
    }
    environ.update(changes)
    return load_settings(environ=_clean(environ))


def _refusal(settings: Settings, clock: object) -> str:
    with pytest.raises(UnsafeProductionSettings) as refused:
        create_app(settings, clock)  # type: ignore[arg-type]
    return str(refused.value)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("CONTINUUM_ENV", "staging"),
        ("CONTINUUM_ENV", ""),
        ("CONTINUUM_TRUSTED_PROXIES", "-1"),
        ("CONTINUUM_WORKERS", "-2"),
        ("CONTINUUM_BIND", ""),
    ],
)
def test_malformed_production_setting_is_refused(tmp_path, name, raw):
    with pytest.raises(SettingsError, match=name):
        load_settings(environ={name: raw}, instance_path=tmp_path, secret_key="k" * 40)


def test_development_is_the_default_and_trusts_no_proxy(tmp_path):
    settings = load_settings(environ={}, instance_path=tmp_path)
    assert (settings.env, settings.trusted_proxies) == ("development", 0)


def test_workers_come_from_the_cpus_unless_set(tmp_path):
    cpus = len(os.sched_getaffinity(0))
    assert load_settings(environ={}, instance_path=tmp_path).effective_workers == 2 * cpus + 1
    one = load_settings(environ={"CONTINUUM_WORKERS": "1"}, instance_path=tmp_path)
    assert one.effective_workers == 1


def test_production_refuses_a_missing_secret_key_and_generates_none(tmp_path, clock):
    settings = _production(tmp_path, CONTINUUM_SECRET_KEY=None)
    assert "CONTINUUM_SECRET_KEY is not set" in _refusal(settings, clock)
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_production_refuses_the_secret_key_the_demo_generated(tmp_path, clock):
    generated = load_settings(environ={}, instance_path=tmp_path / "instance").secret_key
    settings = _production(tmp_path, CONTINUUM_SECRET_KEY=generated)
    assert "CONTINUUM_SECRET_KEY is the development key generated in" in _refusal(settings, clock)


def test_production_refuses_a_short_secret_key(tmp_path, clock):
    settings = _production(tmp_path, CONTINUUM_SECRET_KEY="changeme")
    assert "CONTINUUM_SECRET_KEY is shorter than 32 characters" in _refusal(settings, clock)


@pytest.mark.parametrize("raw", ["false", None])
def test_production_refuses_cookies_that_are_not_secure(tmp_path, clock, raw):
    settings = _production(tmp_path, CONTINUUM_SECURE_COOKIES=raw)
    assert "CONTINUUM_SECURE_COOKIES" in _refusal(settings, clock)


@pytest.mark.parametrize("workers", [None, "2", "9"])
def test_production_refuses_a_memory_limit_store_for_several_workers(tmp_path, clock, workers):
    settings = _production(
        tmp_path, CONTINUUM_RATE_LIMIT_STORAGE_URI=None, CONTINUUM_WORKERS=workers
    )
    message = _refusal(settings, clock)
    assert "CONTINUUM_RATE_LIMIT_STORAGE_URI" in message
    assert f"{settings.effective_workers} workers" in message


def test_production_accepts_a_memory_limit_store_for_one_worker(tmp_path, clock):
    settings = _production(tmp_path, CONTINUUM_RATE_LIMIT_STORAGE_URI=None, CONTINUUM_WORKERS="1")
    app = create_app(settings, clock)  # type: ignore[arg-type]
    assert app.test_client().get("/healthz").status_code == 200
    app.extensions["continuum"].engine.dispose()


def test_production_refuses_the_root_key_the_demo_generates(tmp_path, clock):
    unset = _production(tmp_path, CONTINUUM_ROOT_KEY_FILE=None)
    assert "CONTINUUM_ROOT_KEY_FILE is not set" in _refusal(unset, clock)
    instance_key = tmp_path / "instance" / "root.key"
    instance_key.parent.mkdir(parents=True, exist_ok=True)
    instance_key.write_bytes(ROOT_KEY_FILE.read_bytes())
    named = _production(tmp_path, CONTINUUM_ROOT_KEY_FILE=str(instance_key))
    assert "is the development key generated in" in _refusal(named, clock)
    copied = tmp_path / "keys" / "root.key"
    copied.parent.mkdir()
    copied.write_bytes(instance_key.read_bytes())
    elsewhere = _production(tmp_path, CONTINUUM_ROOT_KEY_FILE=str(copied))
    assert "holds the development key generated in" in _refusal(elsewhere, clock)


def test_production_refuses_a_missing_root_key_file_and_makes_none(tmp_path, clock):
    missing = tmp_path / "keys" / "root.key"
    settings = _production(tmp_path, CONTINUUM_ROOT_KEY_FILE=str(missing))
    assert f"CONTINUUM_ROOT_KEY_FILE {missing} does not exist" in _refusal(settings, clock)
    assert not missing.exists()


def test_production_names_every_problem_at_once(tmp_path, clock):
    settings = _production(
        tmp_path,
        CONTINUUM_SECRET_KEY=None,
        CONTINUUM_SECURE_COOKIES=None,
        CONTINUUM_RATE_LIMIT_STORAGE_URI=None,
        CONTINUUM_ROOT_KEY_FILE=None,
    )
    message = _refusal(settings, clock)
    assert message.startswith("refusing to start with CONTINUUM_ENV=production:")
    names = ["SECRET_KEY", "SECURE_COOKIES", "RATE_LIMIT_STORAGE_URI", "ROOT_KEY_FILE"]
    assert [line.split()[0] for line in message.splitlines()[1:]] == [
        f"CONTINUUM_{name}" for name in names
    ]


def test_development_starts_with_every_developer_default(tmp_path, clock):
    settings = load_settings(environ={}, instance_path=tmp_path / "instance", workers=4)
    app = create_app(settings, clock)
    assert app.test_client().get("/healthz").status_code == 200
    app.extensions["continuum"].engine.dispose()


def test_a_correct_production_configuration_starts_and_serves(
    database: Database, world, tmp_path, clock, redis_url
):
    settings = _production(
        tmp_path,
        CONTINUUM_DATABASE_URL=database.app_url,
        CONTINUUM_MIGRATION_DATABASE_URL=database.owner_url,
        CONTINUUM_RATE_LIMIT_STORAGE_URI=redis_url,
        CONTINUUM_TRUSTED_PROXIES="1",
    )
    app = create_app(settings, clock)
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    page = client.get("/o/pops/login", base_url="https://continuum.example")
    assert page.status_code == 200
    assert "Secure" in page.headers["Set-Cookie"]
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    app.extensions["continuum"].engine.dispose()


# --- the production command ------------------------------------------------------------------


def _gunicorn(environ: dict[str, str], *arguments: str) -> subprocess.Popen[str]:
    # Only what the command needs: the test runner's own CONTINUUM_* variables stay out.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **environ}  # noqa: S108
    return subprocess.Popen(  # noqa: S603 - this interpreter, our own arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(GUNICORN_CONF),
            *arguments,
            "app:create_app()",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _production_environ(
    tmp_path: Path, database: Database, port: int, **more: str
) -> dict[str, str]:
    return {
        "CONTINUUM_ENV": "production",
        "CONTINUUM_INSTANCE_PATH": str(tmp_path / "instance"),
        "CONTINUUM_DATABASE_URL": database.app_url,
        "CONTINUUM_MIGRATION_DATABASE_URL": database.owner_url,
        "CONTINUUM_SECRET_KEY": PRODUCTION_SECRET,
        "CONTINUUM_SECURE_COOKIES": "true",
        "CONTINUUM_ROOT_KEY_FILE": str(ROOT_KEY_FILE),
        "CONTINUUM_BIND": f"127.0.0.1:{port}",
        **more,
    }


def test_the_production_command_serves_the_app_with_two_workers(
    database: Database, world, tmp_path, redis_url
):
    port = free_port()
    environ = _production_environ(
        tmp_path,
        database,
        port,
        CONTINUUM_WORKERS="2",
        CONTINUUM_RATE_LIMIT_STORAGE_URI=redis_url,
    )
    process = _gunicorn(environ)
    try:
        wait_until_listening(process, port)
        assert _get(port, "/healthz") == (200, b"ok")
        assert _get(port, "/readyz") == (200, b"ok")
        status, body = _get(port, "/o/pops/login")
        assert status == 200 and b"csrf_token" in body
    finally:
        output = stop(process)
    assert output.count("Booting worker") == 2, output


def test_the_production_command_refuses_demo_settings_before_serving(
    database: Database, world, tmp_path
):
    port = free_port()
    environ = _production_environ(tmp_path, database, port, CONTINUUM_SECURE_COOKIES="false")
    del environ["CONTINUUM_SECRET_KEY"]
    process = _gunicorn(environ)
    output = process.communicate(timeout=120)[0]
    assert process.returncode != 0
    assert "refusing to start with CONTINUUM_ENV=production" in output
    assert "CONTINUUM_SECRET_KEY is not set" in output
    assert "CONTINUUM_SECURE_COOKIES" in output


def test_the_production_command_refuses_more_workers_than_a_memory_store_allows(
    database: Database, world, tmp_path
):
    # The settings say one worker, which a memory store allows; the command line asks for two.
    port = free_port()
    environ = _production_environ(tmp_path, database, port, CONTINUUM_WORKERS="1")
    process = _gunicorn(environ, "--workers", "2")
    output = process.communicate(timeout=120)[0]
    assert process.returncode != 0
    assert "CONTINUUM_RATE_LIMIT_STORAGE_URI" in output and "2 workers" in output


def test_the_gunicorn_settings_follow_continuum_settings(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("CONTINUUM_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("CONTINUUM_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CONTINUUM_WORKERS", "3")
    monkeypatch.setenv("CONTINUUM_BIND", "127.0.0.1:8123")
    conf = runpy.run_path(str(GUNICORN_CONF))
    assert conf["workers"] == 3
    assert conf["bind"] == ["127.0.0.1:8123"]
    # Each worker builds its own app: database pools and Redis clients never cross a fork.
    assert conf["preload_app"] is False
    # The app's ProxyFix alone decides which forwarded headers to believe.
    assert conf["forwarded_allow_ips"] == ""
