"""Several app processes, one database, one Redis: sign-in limits and lockouts hold across them.

Two ``create_app`` calls stand for two app servers behind a load balancer. Each keeps its own
rate-limit store, as two processes do (app.extensions.AppLimiter), so the per-address limit holds
across them only when the store is shared: ``CONTINUUM_RATE_LIMIT_STORAGE_URI=redis://...``, a
real ``redis-server`` the suite starts (tests/support/redis.py). The lockout is counted on the
user's row, so the shared database carries it. Sign-in attempts alternate between the two.
"""

from __future__ import annotations

import socket

import redis
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import csrf_from
from tests.support.world import PASSWORD, World

LOW_LIMIT = "3 per hour"


def _password_step(client: FlaskClient, slug: str, username: str, password: str) -> TestResponse:
    page = client.get(f"/o/{slug}/login")
    return client.post(
        f"/o/{slug}/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
    )


def _alternating(apps: list[Flask], attempts: int, username: str, password: str) -> list[int]:
    clients = [app.test_client() for app in apps]
    return [
        _password_step(clients[n % len(clients)], "pops", username, password).status_code
        for n in range(attempts)
    ]


def test_per_address_limit_holds_across_two_instances_sharing_redis(make_app, redis_url):
    apps = [make_app(login_rate_limit=LOW_LIMIT, rate_limit_storage_uri=redis_url) for _ in "ab"]
    statuses = _alternating(apps, 5, "pops.nobody", "not the right password")
    # Attempts 1 and 3 went to the first instance, 2 to the second: the fourth, on the second
    # instance, is its own second attempt but the address's fourth.
    assert statuses == [401, 401, 401, 429, 429]
    # The counts live in Redis, not in either process.
    with redis.Redis.from_url(redis_url) as server:
        assert server.dbsize() > 0
    # Another address still reaches the sign-in form on either instance.
    for app in apps:
        elsewhere = app.test_client()
        page = elsewhere.get("/o/pops/login", environ_base={"REMOTE_ADDR": "198.51.100.7"})
        response = elsewhere.post(
            "/o/pops/login",
            data={"username": "x", "password": "y", "csrf_token": csrf_from(page.text)},
            environ_base={"REMOTE_ADDR": "198.51.100.7"},
        )
        assert response.status_code == 401


def test_negative_control_per_process_memory_stores_do_not_hold_across_instances(make_app):
    # Without the shared store each instance counts only what it saw: the fifth attempt is the
    # first instance's third, still under the limit. This is what Redis is for.
    apps = [make_app(login_rate_limit=LOW_LIMIT, rate_limit_storage_uri="memory://") for _ in "ab"]
    assert _alternating(apps, 5, "pops.nobody", "not the right password") == [401] * 5


def test_sixth_sign_in_on_either_instance_is_refused_after_five_wrong_passwords(
    make_app, redis_url, world: World
):
    apps = [make_app(rate_limit_storage_uri=redis_url) for _ in "ab"]
    actor = world.actors["pops_liverpool"]
    assert _alternating(apps, 5, actor.username, "not the right password") == [401] * 5
    # Locked on the user's row in the shared database: even the right password is refused, on
    # the instance that saw the fifth failure and on the other.
    for app in apps:
        assert (
            _password_step(app.test_client(), "pops", actor.username, PASSWORD).status_code == 401
        )


def test_negative_control_four_wrong_passwords_do_not_lock_either_instance(
    make_app, redis_url, world: World
):
    apps = [make_app(rate_limit_storage_uri=redis_url) for _ in "ab"]
    actor = world.actors["pops_liverpool"]
    assert _alternating(apps, 4, actor.username, "not the right password") == [401] * 4
    assert (
        _password_step(apps[0].test_client(), "pops", actor.username, PASSWORD).status_code == 302
    )


def test_sign_in_fails_closed_while_the_shared_store_is_unreachable(make_app, world: World):
    # No Redis on this port: a limit that cannot be counted is not skipped, the attempt fails.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = make_app(rate_limit_storage_uri=f"redis://127.0.0.1:{port}/0")
    app.testing = False  # answer as a server does, instead of raising into the test
    actor = world.actors["pops_liverpool"]
    client = app.test_client()
    assert _password_step(client, "pops", actor.username, PASSWORD).status_code == 500
    assert client.get("/o/pops/login/code").status_code == 302
    # Every instance shares the one store, so its outage is not a reason to leave the pool:
    # pages that count nothing go on being served, and the probes say so.
    assert client.get("/readyz").status_code == 200
