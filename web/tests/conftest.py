"""Browser tests: Debian's Chromium driven by Playwright, against the product served as it is
deployed: embedded (`manage.py serve`, one daphne process for pages and websockets), or in
production's shape on PostgreSQL and RabbitMQ (the pages on gunicorn, websockets on uvicorn,
a fan-out worker, and a front proxy that sends `/ws/` to the websocket server)."""

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from django.db import connection

from common.testing import free_port
from notifications.tests.e2e import (
    ROOT,
    Process,
    Stack,
    TcpProxy,
    broker_url,
    process_env,
    wait_until_up,
)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Where the browser tests save their screenshots: the folder SCREENSHOTS_DIR names (from the
# checkout's root; `docs/screenshots` retakes the README's), or a temporary one, so that a
# test run leaves the checkout as it found it.
SCREENSHOTS = ROOT / os.environ.get(
    "SCREENSHOTS_DIR", Path(tempfile.gettempdir()) / "warble-screenshots"
)


def pytest_collection_modifyitems(items):
    """Browser tests last: once Playwright has started, the main thread holds its event loop
    for the rest of the session, where async_to_sync (eager fan-out) cannot run."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session", autouse=True)
def _database_beside_playwright():
    """Playwright's sync API runs an event loop in the test's thread, so Django would refuse
    the test's own (synchronous) database calls; they are safe here, one thread at a time."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Chromium from Debian's package: Playwright's own downloads do not work here.
    if not Path(CHROMIUM).exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@pytest.fixture(scope="session")
def static_root(tmp_path_factory) -> Path:
    """Static files collected once, as `manage.py serve` would, into a private directory."""
    root = tmp_path_factory.mktemp("static")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, "STATIC_ROOT": str(root)},
        check=True,
    )
    return root


class Server:
    """`manage.py serve` on a free port, against the test database; can be restarted."""

    def __init__(self, tmp_path: Path, static: Path, media: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = process_env(
            SERVER_PORT=self.port, STATIC_ROOT=static, MEDIA_ROOT=media, PUBLIC_URL=self.url
        )
        command = [sys.executable, "manage.py", "serve", "--skip-setup", "--port", str(self.port)]
        self.process = Process(f"serve-{self.port}", command, env, tmp_path)

    def start(self) -> "Server":
        self.process.start()
        wait_until_up(f"{self.url}/healthz", self.process)
        return self

    def stop(self) -> None:
        self.process.stop()


class Front:
    """The front proxy the README asks for in production (`/ws/` to `ws`, the rest to
    `api`): one origin for the pages and their websocket. A routing TcpProxy on an event
    loop of its own thread, beside Playwright's. Its port (hence the public URL the
    processes are told) is known before the processes behind it are started."""

    def __init__(self):
        self.proxy = TcpProxy("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.proxy.port}"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self, *, api: str, ws: str) -> None:
        """Route to the servers at `api` and `ws` (base URLs) and start listening."""
        self.proxy.target = _host_port(api)
        self.proxy.routes = {b"/ws/": _host_port(ws)}
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.proxy.start(), self.loop).result(10)

    async def _shut(self) -> None:
        """Drop every connection, then end the connections' tasks, so that none is left
        pending when the loop closes."""
        await self.proxy.cut()
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        if self.thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shut(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
        self.loop.close()


def _host_port(base: str) -> tuple[str, int]:
    host, port = base.split("://", 1)[1].rsplit(":", 1)
    return host, int(port)


class BrokerServer:
    """Production's processes on the test database and a real RabbitMQ: the pages and API
    on gunicorn, websockets on uvicorn, one fan-out worker, behind a Front."""

    def __init__(self, tmp_path: Path, static: Path, media: Path):
        self.stack = Stack(tmp_path, broker_url())
        self.front = Front()
        self.url = self.front.url
        self.env = {"STATIC_ROOT": static, "MEDIA_ROOT": media, "PUBLIC_URL": self.url}

    def start(self) -> "BrokerServer":
        try:
            _, ws = self.stack.websocket_server("uvicorn", **self.env)
            _, api = self.stack.api(**self.env)
            self.stack.worker(**self.env)
            self.front.start(api=api, ws=ws)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.front.stop()
        self.stack.stop()


@pytest.fixture
def server(request, transactional_db, tmp_path, static_root, settings):
    """The product on a live server: embedded by default; a test parametrized with
    `indirect=["server"]` runs against `"broker"` too (production's processes), skipped
    unless the test database is PostgreSQL and RabbitMQ answers (failed in CI instead)."""
    mode = getattr(request, "param", "embedded")
    media = Path(settings.MEDIA_ROOT)
    if mode == "broker":
        if connection.vendor != "postgresql":
            message = "the broker mode runs on PostgreSQL (set DATABASE_URL)"
            if os.environ.get("REQUIRE_SERVICES"):
                pytest.fail(message)
            pytest.skip(message)
        served = BrokerServer(tmp_path, static_root, media).start()
    else:
        served = Server(tmp_path, static_root, media).start()
    yield served
    served.stop()


# Both ways the product is served: `@pytest.mark.parametrize(*BOTH_MODES, indirect=True)`.
BOTH_MODES = ("server", ["embedded", "broker"])
