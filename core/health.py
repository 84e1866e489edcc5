"""Liveness checks of the parts the application needs: database, Redis, Celery workers."""

from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connection

from itsm.celery import app as celery_app


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str


def health_check_database() -> CheckResult:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; the detail says why
        return CheckResult(False, type(exc).__name__)
    return CheckResult(True, "ok")


def health_check_redis() -> CheckResult:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        return CheckResult(False, type(exc).__name__)
    finally:
        client.close()
    return CheckResult(True, "ok")


def health_check_workers(timeout: float = 1.0) -> CheckResult:
    try:
        # limit=1: answer as soon as one worker replies instead of waiting out the timeout.
        replies = celery_app.control.ping(timeout=timeout, limit=1)
    except Exception as exc:  # noqa: BLE001
        return CheckResult(False, type(exc).__name__)
    if not replies:
        return CheckResult(False, "no worker answered")
    return CheckResult(True, f"{len(replies)} worker(s)")


def health_report() -> dict[str, CheckResult]:
    """Run every check; the worker check is skipped when the broker itself is down."""
    results = {"database": health_check_database(), "redis": health_check_redis()}
    broker_is_redis = settings.CELERY_BROKER_URL == settings.REDIS_URL
    if broker_is_redis and not results["redis"].ok:
        results["celery"] = CheckResult(False, "broker unavailable")
    else:
        results["celery"] = health_check_workers()
    return results
