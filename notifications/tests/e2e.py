"""Real processes for end-to-end tests: API servers, websocket servers and fan-out workers
started as the deployment starts them, against the test database and a real RabbitMQ."""

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from common.testing import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672/"


def broker_url() -> str:
    """The broker for tests: RABBITMQ_URL, else the local default. Skips the test when none
    answers, or fails it when REQUIRE_SERVICES is set (CI)."""
    url = os.environ.get("RABBITMQ_URL") or DEFAULT_BROKER
    from urllib.parse import urlparse

    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 5672), timeout=2):
            pass
    except OSError:
        message = f"RabbitMQ is not reachable at {parsed.hostname}:{parsed.port or 5672}"
        if os.environ.get("REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    return url.rstrip("/")


def database_url() -> str:
    """The test database, for processes started by the test."""
    config = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(config["NAME"])
        if "memory" in name:
            pytest.skip("process tests need a file or server database")
        return f"sqlite:///{name}"
    user = config.get("USER") or ""
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host, port = config["HOST"] or "127.0.0.1", config["PORT"] or 5432
    return f"postgres://{auth}{host}:{port}/{config['NAME']}"


def process_env(**extra) -> dict:
    env = {
        "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", tempfile.gettempdir()),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "JWT_SECRET_KEY": settings.SIMPLE_JWT["SIGNING_KEY"],
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "INFO",
        "THROTTLE_POST_RATE": "100000/min",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "DATABASE_POOL_MAX_SIZE": "4",
    }
    env.update({key: str(value) for key, value in extra.items()})
    return env


class Process:
    """A child process with its output in a log file (shown when the test fails)."""

    def __init__(self, name: str, command: list[str], env: dict, log_dir: Path):
        self.name, self.command, self.env = name, command, env
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen | None = None

    def start(self) -> "Process":
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def stop(self, sig=signal.SIGTERM, timeout: float = 15) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()

    def kill(self) -> None:
        """kill -9: no cleanup, no acknowledgements."""
        self.stop(signal.SIGKILL)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Stack:
    """Starts and stops the processes of one test."""

    def __init__(self, tmp_path: Path, broker: str | None):
        self.tmp_path, self.broker = tmp_path, broker
        self.processes: list[Process] = []
        self.queue = f"test-posts-{uuid.uuid4().hex[:10]}"

    def env(self, **extra) -> dict:
        broker = {"RABBITMQ_URL": self.broker, "POSTS_QUEUE": self.queue} if self.broker else {}
        return process_env(
            CHANNEL_LAYER_EXCHANGE="warble-test.groups", PUBLISH_TIMEOUT=1, **broker, **extra
        )

    def _add(self, name, command, env) -> Process:
        process = Process(name, command, env, self.tmp_path).start()
        self.processes.append(process)
        return process

    def api(self, **env) -> tuple[Process, str]:
        """The REST API on gunicorn, as in production."""
        port = free_port()
        process = self._add(
            f"api-{port}",
            [str(BIN / "gunicorn"), "-c", "config/gunicorn.py", "config.wsgi"],
            self.env(SERVER_ADDRESS="127.0.0.1", SERVER_PORT=port, WEB_CONCURRENCY=2, **env),
        )
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/healthz", process)
        return process, base

    def websocket_server(self, server: str = "uvicorn", **env) -> tuple[Process, str]:
        """The websocket (ASGI) server of production."""
        port = free_port()
        if server == "uvicorn":
            command = [
                str(BIN / "uvicorn"),
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--lifespan",
                "off",
            ]
        else:
            # daphne as the project runs it (config/daphne.py)
            command = [
                sys.executable,
                "-m",
                "config.daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "--access-log",
                os.devnull,
                "config.asgi:application",
            ]
        process = self._add(f"ws-{server}-{port}", command, self.env(**env))
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        return process, f"ws://127.0.0.1:{port}"

    def embedded(self) -> tuple[Process, str]:
        """`manage.py serve`: the whole product in one daphne process, no broker."""
        port = free_port()
        env = process_env(SERVER_PORT=port)
        process = self._add(
            f"serve-{port}",
            [sys.executable, "manage.py", "serve", "--skip-setup", "--port", str(port)],
            env,
        )
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        return process, f"127.0.0.1:{port}"

    def worker(self, name: str = "worker", **env) -> Process:
        return self._add(
            f"{name}-{len(self.processes)}",
            [
                sys.executable,
                "manage.py",
                "fanout_worker",
                "--sweep-interval",
                "0.5",
                "--sweep-grace",
                "0.5",
            ],
            self.env(**env),
        )

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.output()[-6000:]}" for p in self.processes)


def wait_until_up(url: str, process: Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited:\n{process.output()}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.1)
    raise RuntimeError(f"{process.name} did not start:\n{process.output()}")


def http(
    method: str,
    url: str,
    token: str | None = None,
    body: dict | None = None,
    headers: dict | None = None,
):
    """A JSON request; returns (status, parsed body)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


async def ahttp(
    method: str,
    url: str,
    token: str | None = None,
    body: dict | None = None,
    headers: dict | None = None,
):
    return await asyncio.to_thread(http, method, url, token, body, headers)


async def wait_for(predicate, timeout: float, interval: float = 0.1, message: str = ""):
    """Poll an async or sync predicate until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(message or "condition not met in time")
        await asyncio.sleep(interval)


class TcpProxy:
    """A TCP proxy in front of the broker that a test can cut (every connection dropped, new
    ones refused) and restore: a broker outage without stopping the shared RabbitMQ.

    With `routes` (`{"/ws/": (host, port)}`) it is also the deployment's front proxy for
    HTTP: a connection whose first request's path starts with a route's prefix goes there,
    any other to the target (a browser opens each websocket on a connection of its own)."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        routes: dict[str, tuple[str, int]] | None = None,
    ):
        self.target = (target_host, target_port)
        self.routes = {prefix.encode(): target for prefix, target in (routes or {}).items()}
        self.port = free_port()
        self.server: asyncio.base_events.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def cut(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    async def restore(self) -> None:
        await self.start()

    async def _handle(self, reader, writer) -> None:
        target, first = self.target, b""
        if self.routes:
            try:
                first = await reader.readuntil(b"\r\n")  # GET /path HTTP/1.1
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                writer.close()
                return
            path = first.split(b" ")[1] if first.count(b" ") >= 2 else b""
            for prefix, routed in self.routes.items():
                if path.startswith(prefix):
                    target = routed
                    break
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            return
        upstream_writer.write(first)
        self.writers.update({writer, upstream_writer})

        async def pipe(source, sink):
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                sink.transport.abort()
                self.writers.discard(sink)

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
