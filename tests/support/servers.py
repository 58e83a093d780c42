"""Servers the tests start as real processes on loopback (PostgreSQL, Redis, gunicorn, SMTP):
a free port, a bounded wait until one listens, and a stop that returns what it printed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest


def free_port() -> int:
    """Ask the kernel for an unused port. It is released before the server binds it, so a
    parallel worker can occasionally win it first (tests/support/postgres.py retries)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_listening(process: subprocess.Popen[str], port: int) -> None:
    """Until the server accepts connections; a bound wait, not a measurement."""
    for _ in range(1200):
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"the server exited with {process.returncode}:\n{output}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail("the server did not start listening")


def stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM to the server's process group (started with ``start_new_session``), SIGKILL if
    it has not gone within a minute; what it printed."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
    return output
