"""The development stack (itsm/devstack.py): real processes, real signals, nothing left behind."""

import ast
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg
import pytest
from psycopg import sql

from tests.processes import free_port

BASE_DIR = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 150
STOP_TIMEOUT = 45


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _stack_env(**overrides: str) -> dict[str, str]:
    """The environment of a developer's shell: no pytest settings module."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(overrides)
    return env


def _session_database_url() -> str:
    return os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/itsm")


def _fresh_database(name_suffix: str) -> str:
    """A new, empty database on the session's server, so `migrate` starts from scratch."""
    parts = urlsplit(_session_database_url())
    name = f"{parts.path.lstrip('/')}_{name_suffix}"
    admin = psycopg.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        admin.close()
    return urlunsplit(parts._replace(path=f"/{name}"))


def _private_redis_url() -> str:
    """The session's Redis, database 15: this stack's worker must not answer the pings (or
    take the tasks) of the other tests, and Celery's broadcasts are scoped per database."""
    parts = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    return urlunsplit(parts._replace(path="/15"))


def _health(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def _processes_mentioning(text: str) -> list[psutil.Process]:
    return [
        p for p in psutil.process_iter(["cmdline"]) if text in " ".join(p.info["cmdline"] or [])
    ]


def _kill_leftovers(proc: subprocess.Popen, known: list[psutil.Process]) -> None:
    """Whatever happened, no process of this test survives it."""
    with contextlib.suppress(psutil.NoSuchProcess):
        known = [*known, *psutil.Process(proc.pid).children(recursive=True)]
    for pid in {proc.pid, *(p.pid for p in known)}:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=10)


@pytest.mark.stack
def test_run_serves_health_then_ctrl_c_stops_every_process(tmp_path):
    port = free_port()
    env = _stack_env(
        DATABASE_URL=_fresh_database("stack"),
        REDIS_URL=_private_redis_url(),
        HOST="127.0.0.1",
        PORT=str(port),
        ITSM_VAR_DIR=str(tmp_path / "var"),
        ITSM_SKIP_DEMO="1",
    )
    log_path = tmp_path / "run.log"
    children: list[psutil.Process] = []
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "itsm.devstack", "run"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while _health(port) != 200:
            assert proc.poll() is None, f"devstack run exited early:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"no healthy /health/:\n{log_path.read_text()}"
            time.sleep(1)
        children = psutil.Process(proc.pid).children(recursive=True)
        command_lines = [" ".join(child.cmdline()) for child in children]
        assert any("gunicorn itsm.wsgi" in line for line in command_lines)
        workers = [line for line in command_lines if "celery -A itsm worker" in line]
        assert any("-Q celery" in line for line in workers)
        assert any("-Q sla" in line for line in workers)
        assert any("celery -A itsm beat" in line for line in command_lines)

        proc.send_signal(signal.SIGINT)

        assert proc.wait(timeout=STOP_TIMEOUT) == 0, log_path.read_text()
        _gone, alive = psutil.wait_procs(children, timeout=STOP_TIMEOUT)
        assert alive == [], f"still running after Ctrl-C: {alive}"
        assert not _port_answers(port)
    finally:
        _kill_leftovers(proc, children)


@pytest.mark.stack
def test_exec_starts_embedded_services_and_stops_them_afterwards():
    # A short path of its own: Unix socket paths are limited to ~100 bytes.
    var = Path(tempfile.mkdtemp(prefix="itsm-devstack-")) / "var"
    env = _stack_env(ITSM_VAR_DIR=str(var))
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    probe = (
        "import json, os, socket, psycopg\n"
        "db = psycopg.connect(os.environ['DATABASE_URL'])\n"
        "cur = db.cursor(); cur.execute('SELECT current_database()')\n"
        "redis_port = int(os.environ['REDIS_URL'].rsplit(':', 1)[1].split('/')[0])\n"
        "s = socket.create_connection(('127.0.0.1', redis_port)); s.sendall(b'PING\\r\\n')\n"
        "print(json.dumps({'db': cur.fetchone()[0], 'redis': s.recv(16).decode(),\n"
        "  'pg_port': db.info.port, 'redis_port': redis_port}))\n"
    )
    try:
        result = subprocess.run(
            [sys.executable, "-m", "itsm.devstack", "exec", "--profile", "test", "--"]
            + [sys.executable, "-c", probe],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

        assert result.returncode == 0, result.stderr
        seen = json.loads(result.stdout.strip().splitlines()[-1])
        assert seen["db"] == "itsm"
        assert seen["redis"].startswith("+PONG")
        assert not _port_answers(seen["pg_port"])
        assert not _port_answers(seen["redis_port"])
        assert not (var / "test-pgdata" / "postmaster.pid").exists()
        assert _processes_mentioning(str(var)) == []
    finally:
        for leftover in _processes_mentioning(str(var)):
            leftover.kill()
        shutil.rmtree(var.parent, ignore_errors=True)


@pytest.mark.stack
def test_exec_passes_on_the_exit_code_of_its_command():
    env = _stack_env(DATABASE_URL=_session_database_url(), REDIS_URL=_private_redis_url())

    result = subprocess.run(
        [sys.executable, "-m", "itsm.devstack", "exec", "--", sys.executable, "-c", "exit(7)"],
        cwd=BASE_DIR,
        env=env,
        timeout=60,
    )

    assert result.returncode == 7


def _settings_variables() -> set[str]:
    """Names passed to django-environ's `env(...)` / `env.<type>(...)` in the settings."""
    tree = ast.parse((BASE_DIR / "itsm" / "settings" / "base.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        is_env = (isinstance(func, ast.Name) and func.id == "env") or (
            isinstance(func, ast.Attribute) and getattr(func.value, "id", None) == "env"
        )
        if is_env and isinstance(node.args[0], ast.Constant):
            names.add(node.args[0].value)
    return names


def test_env_example_lists_every_variable_the_settings_read():
    example = (BASE_DIR / ".env.example").read_text()

    listed = set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", example, re.MULTILINE))
    assert _settings_variables() - listed == set()
    assert {"HOST", "PORT", "ITSM_VAR_DIR", "ITSM_SKIP_DEMO"} <= listed
