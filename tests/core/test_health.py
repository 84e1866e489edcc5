"""GET /health/ against real services: a real Celery worker, a Redis that really stops."""

import subprocess

import pytest
from django.conf import settings

from core.health import health_check_workers
from tests.processes import ThrowawayRedis, start_worker, stop_process, wait_for


@pytest.fixture
def celery_worker(db):
    """A real worker on the test's broker (settings.CELERY_BROKER_URL), stopped afterwards."""
    worker = start_worker(
        broker_url=settings.CELERY_BROKER_URL,
        name="health-test",
        stderr=subprocess.PIPE,
        REDIS_URL=settings.REDIS_URL,
    )
    try:
        wait_for(lambda: worker.poll() is not None or health_check_workers().ok, 60, "worker")
        assert worker.poll() is None, worker.stderr.read().decode()
        yield worker
    finally:
        stop_process(worker)


@pytest.fixture
def throwaway_redis():
    """A private redis-server on a free port; the test may stop it."""
    server = ThrowawayRedis(persistent=False)
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


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
    settings.REDIS_URL = throwaway_redis.url
    settings.CELERY_BROKER_URL = throwaway_redis.url
    before = client.get("/health/").json()

    throwaway_redis.stop()
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
