"""Real servers for end-to-end tests: the web process (uvicorn) and Rasa.

Each runs from its own environment, as the Procfile runs it: uvicorn from this one (.venv),
Rasa from .venv-rasa.

Both run as subprocesses against the test database, so what they store is what
the tests read. Nothing here is a mock: these are the processes `make run` starts.
"""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import caldav
import yaml

from tests.rasa_side import rasa_bin

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, *, timeout: float, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early with {process.returncode}; log:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up within {timeout}s; log:\n{log.read_text()[-4000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (read from /proc: the kernel may not list children itself)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (command) state ppid ...": the command may hold spaces and parentheses.
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                children.append(int(entry.name))
    return children


class RasaServer:
    """One `rasa run` on the trained model (scripts/rasa-run.sh), on a port it keeps across restarts.

    Supervised, it runs under scripts/keep-running.sh, as `make run` and systemd run it: killed, it is
    started again by the supervisor (``process`` is then the supervisor, ``server_pid()`` the server).
    """

    def __init__(
        self, *, port: int, env: dict, endpoints: Path, log: Path, cwd: Path, supervised: bool = False
    ) -> None:
        self.port, self.env, self.endpoints, self.log, self.cwd = port, env, endpoints, log, cwd
        self.url = f"http://127.0.0.1:{port}"
        self.supervisor = [str(ROOT / "scripts" / "keep-running.sh")] if supervised else []
        self.process: subprocess.Popen | None = None

    def start(self) -> "RasaServer":
        command = [
            *self.supervisor,
            str(ROOT / "scripts" / "rasa-run.sh"),
            *("-i", "127.0.0.1", "-p", str(self.port), "-m", str(model_path())),
            *("--endpoints", str(self.endpoints), "--credentials", str(ROOT / "chatbot/bot/credentials.yml")),
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait(self, token: str, timeout: float = 240) -> None:
        wait_http(f"{self.url}/status?token={token}", timeout=timeout, process=self.process, log=self.log)

    def server_pid(self) -> int | None:
        """The running Rasa server's process: under the supervisor, its child (None while it waits to
        start it again: its child is then ``sleep``)."""
        if self.process is None or self.process.poll() is not None:
            return None
        if not self.supervisor:
            return self.process.pid
        for pid in child_pids(self.process.pid):
            with contextlib.suppress(OSError):
                if any(word.endswith(b"/rasa") for word in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")):
                    return pid
        return None

    def kill(self) -> None:
        """kill -9: no goodbye, as when the machine or the OOM killer takes it. Supervised, only the server
        dies, and the supervisor starts it again."""
        if self.supervisor:
            pid = self.server_pid()
            if pid is None:
                raise RuntimeError(f"no Rasa server running under the supervisor {self.process.pid}")
            os.kill(pid, signal.SIGKILL)
        elif self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            server = self.server_pid() if self.supervisor else None
            stop(self.process)
            if server is not None:  # a supervisor killed after its grace time leaves its server behind
                with contextlib.suppress(ProcessLookupError):
                    os.kill(server, signal.SIGKILL)


@dataclass
class Servers:
    web_url: str
    rasa_url: str
    web: subprocess.Popen
    rasa: subprocess.Popen
    logs: Path
    rasa_token: str  # Rasa's HTTP API answers only with ?token=... (scripts/rasa-run.sh)
    rasas: list[RasaServer]
    more_webs: list[tuple[str, subprocess.Popen]] = field(default_factory=list)  # (url, process) beside ``web``

    @property
    def web_urls(self) -> list[str]:
        return [self.web_url] + [url for url, _ in self.more_webs]

    @property
    def rasa_urls(self) -> list[str]:
        return [r.url for r in self.rasas]

    def rasa_api(self, path: str) -> str:
        """The URL of one of Rasa's HTTP API endpoints, with the token."""
        separator = "&" if "?" in path else "?"
        return f"{self.rasa_url}{path}{separator}token={self.rasa_token}"

    def stop(self) -> None:
        for rasa in self.rasas:
            rasa.stop()
        for _, process in self.more_webs:
            stop(process)
        stop(self.web)

    def sent_emails(self) -> list:
        """Emails the web server sent (Django's file backend), oldest first, as email.message objects."""
        import email
        from email import policy

        folder = self.logs / "mail"
        if not folder.exists():
            return []
        messages = []
        for path in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime):
            # The file backend separates messages with a line of 79 dashes.
            for chunk in path.read_bytes().split(b"-" * 79 + b"\n"):
                if chunk.strip():
                    messages.append(email.message_from_bytes(chunk, policy=policy.default))
        return messages


def model_path() -> Path:
    latest = ROOT / "models" / "latest"
    if not latest.exists():
        raise RuntimeError("No trained model: run `make train` (make test does it for you).")
    return ROOT / latest.read_text().strip()


def web_command(port: int) -> list[str]:
    """The web process as the Procfile runs it: the client IP is the socket peer (no proxy headers)."""
    return [
        str(VENV_BIN / "uvicorn"),
        "config.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-proxy-headers",
        "--log-level",
        "warning",
    ]


def start_servers(
    *,
    database_url: str,
    logs: Path,
    env_extra: dict | None = None,
    rasa_count: int = 1,
    rasa_supervised: bool = False,
    web_count: int = 1,
) -> Servers:
    """The web process and ``rasa_count`` Rasa servers sharing the tracker store and the lock store
    (supervised: each restarted when it dies, see ``RasaServer``). With ``web_count`` > 1, more web
    processes beside the first, sharing its database and channel layer (``Servers.more_webs``); Rasa
    calls its actions on the first."""
    from django.conf import settings

    from chatbot.management.commands.bot_endpoints import endpoints_config

    # Absolute: Rasa runs in this folder, and a relative --endpoints path would not be found from there.
    logs = logs.resolve()
    logs.mkdir(parents=True, exist_ok=True)
    web_port, rasa_ports = free_port(), [free_port() for _ in range(rasa_count)]
    web_url, rasa_url = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{rasa_ports[0]}"
    rasa_token = secrets.token_urlsafe(32)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "RASA_API_TOKEN": rasa_token,
        "RASA": str(rasa_bin("rasa")),
        "DATABASE_URL": database_url,
        "RASA_URL": rasa_url,
        "RASA_URLS": ",".join(f"http://127.0.0.1:{port}" for port in rasa_ports),
        "PUBLIC_BASE_URL": web_url,
        "PYTHONUNBUFFERED": "1",
        "TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "TEST_EMAIL_FILE_PATH": str(logs / "mail"),
        # Rasa loads our channel (chatbot/rasa_plugins/channel.py) named in credentials.yml.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        **(env_extra or {}),
    }
    if web_count > 1:  # one installation: the web processes share the channel layer and the cache
        env["TEST_SHARED_PREFIX"] = f"leadbot-servers-{secrets.token_hex(4)}"
    web_log = logs / "web.log"
    web = subprocess.Popen(
        web_command(web_port),
        cwd=ROOT,
        env=env,
        stdout=web_log.open("w"),
        stderr=subprocess.STDOUT,
    )
    endpoints = logs / "endpoints.yml"
    endpoints.write_text(yaml.safe_dump(endpoints_config(action_url=f"{web_url}/bot/actions/")))
    rasas = [
        RasaServer(
            port=port,
            env=env,
            endpoints=endpoints,
            log=logs / ("rasa.log" if i == 0 else f"rasa-{i + 1}.log"),
            cwd=logs,
            supervised=rasa_supervised,
        ).start()
        for i, port in enumerate(rasa_ports)
    ]
    servers = Servers(
        web_url=web_url,
        rasa_url=rasa_url,
        web=web,
        rasa=rasas[0].process,
        logs=logs,
        rasa_token=rasa_token,
        rasas=rasas,
    )
    try:
        wait_http(f"{web_url}/", timeout=60, process=web, log=web_log)
        for i in range(1, web_count):
            port = free_port()
            servers.more_webs.append(
                (f"http://127.0.0.1:{port}", start_web(port=port, env=env, log=logs / f"web-{i + 1}.log"))
            )
        for rasa in rasas:
            rasa.wait(rasa_token)
    except Exception:
        servers.stop()
        raise
    assert settings.RASA_TIMEOUT_SECONDS > 0
    return servers


class CeleryWorker:
    """A real ``celery worker`` process on the test database and the test Redis broker.

    It runs with the project's ordinary (non-eager) settings, so retries go through the
    broker with their countdown, as in production.
    """

    def __init__(
        self,
        folder: Path,
        database_url: str,
        env_extra: dict | None = None,
        beat: bool = False,
        supervised: bool = False,
        concurrency: int | None = None,
    ) -> None:
        import uuid

        from django.conf import settings

        self.log = folder / "celery-worker.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DATABASE_URL": database_url,
            "REDIS_URL": settings.REDIS_URL,
            "CACHE_PREFIX": f"leadbot-worker-{uuid.uuid4().hex[:8]}",
            "SCHEDULING_RETRY_BASE_SECONDS": "1",
            "PUBLIC_BASE_URL": settings.PUBLIC_BASE_URL,
            "PYTHONUNBUFFERED": "1",
            **(env_extra or {}),
        }
        self.name = f"schedcal-{uuid.uuid4().hex[:8]}@localhost"
        # With beat, the periodic tasks run too (their schedule file in the folder).
        self.beat_args = ["-B", "--schedule", str(folder / "celerybeat-schedule")] if beat else []
        # Supervised: started again whenever it exits, as under `make run` (scripts/keep-running.sh) and systemd.
        self.supervisor = [str(ROOT / "scripts" / "keep-running.sh")] if supervised else []
        # One task at a time in the worker process itself, unless asked for the Procfile's and systemd's
        # pool of ``concurrency`` processes.
        self.pool = (
            ["--pool", "solo"] if concurrency is None else ["--pool", "prefork", "--concurrency", str(concurrency)]
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.supervisor
                + [sys.executable, "-m", "celery", "-A", "config", "worker", *self.pool, "-l", "info"]
                + ["-n", self.name, "--without-gossip", "--without-mingle", "--without-heartbeat"]
                + self.beat_args,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited early; log:\n{self.log.read_text()[-4000:]}")
            if " ready." in self.log.read_text():
                return
            time.sleep(0.3)
        raise RuntimeError(f"celery worker did not start; log:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


class RadicaleServer:
    """``python -m radicale`` on a free loopback port, storing into a temporary folder.

    ``stop()`` / ``start()`` simulate an outage: the storage survives, the port stays the same.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = folder / "radicale.log"
        self.config = folder / "radicale.conf"
        (folder / "storage").mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            "[server]\n"
            f"hosts = 127.0.0.1:{self.port}\n"
            "[auth]\n"
            # Any user name and password is accepted; each user reaches only their own calendars.
            "type = none\n"
            "[rights]\n"
            "type = owner_only\n"
            "[storage]\n"
            f"filesystem_folder = {folder / 'storage'}\n"
            "[logging]\n"
            "level = warning\n"
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "radicale", "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        wait_http(self.url, timeout=20, process=self.process, log=self.log)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def client(self, username: str) -> caldav.DAVClient:
        return caldav.DAVClient(url=self.url, username=username, password="secret", timeout=10)


class RedisServer:
    """A private ``redis-server`` on a free loopback port, writing its append-only file to a folder.

    ``restart()`` stops it (SIGTERM: it writes what it holds) and starts it again on the same port,
    as an operator or a crash-and-supervisor would; the machine's shared Redis is never touched.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = folder / "redis.log"
        self.process: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        import redis

        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
                + ["--save", "", "--appendonly", "yes", "--appendfsync", "always"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_timeout=1).ping():
                    return
            except redis.exceptions.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError(f"redis-server did not start; log:\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def subscriptions(self) -> set[bytes]:
        """The pub/sub channels someone listens to now (the channel layer's groups and channels)."""
        import redis

        return set(redis.Redis.from_url(self.url, socket_timeout=2).pubsub_channels())


def start_web(*, port: int, env: dict, log: Path) -> subprocess.Popen:
    """One more web process (uvicorn, as the Procfile runs it) with its own environment."""
    with log.open("ab") as out:
        process = subprocess.Popen(web_command(port), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    wait_http(f"http://127.0.0.1:{port}/", timeout=60, process=process, log=log)
    return process


class PostgresCluster:
    """A private PostgreSQL cluster (initdb, pg_ctl) in a temporary folder, on a free port, owned by
    the postgres user; ``restart()`` restarts it as an operator would. The machine's own PostgreSQL
    is never touched."""

    def __init__(self) -> None:
        import glob
        import shutil
        import tempfile

        self.bin = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
        self.folder = Path(tempfile.mkdtemp(prefix="leadbot-pg-"))
        shutil.chown(self.folder, "postgres", "postgres")
        self.data, self.log = self.folder / "data", self.folder / "postgres.log"
        self.port = free_port()

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if not self.data.exists():
            self._as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust")
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}"
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start"
        )

    def stop(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def createdb(self, name: str) -> None:
        self._as_postgres(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), name)

    def remove(self) -> None:
        import shutil

        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
