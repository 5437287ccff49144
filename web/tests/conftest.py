"""Browser tests: Debian's Chromium driven by Playwright, against the product served as it is
deployed (`manage.py serve`, one daphne process for pages and websockets)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.testing import free_port
from notifications.tests.e2e import ROOT, Process, process_env, wait_until_up

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"


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


@pytest.fixture
def server(transactional_db, tmp_path, static_root, settings):
    served = Server(tmp_path, static_root, Path(settings.MEDIA_ROOT)).start()
    yield served
    served.stop()
