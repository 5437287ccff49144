"""After PostgreSQL restarts (or fails over), the first request succeeds: the connections
that died with the old server never reach it, and it does not wait for a reconnection
attempt that the outage left sleeping (common/postgresql, docs/resilience.md).

Each test restarts a PostgreSQL cluster of its own (`initdb` into a temporary directory, a
free port), so nothing else is disturbed, and takes connections through this project's
database backend exactly as a request does (`ensure_connection`, a query, `close`).
"""

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import OperationalError, connections

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "common.postgresql",
        reason="PostgreSQL only",
    ),
]

# What a request waits for a connection (DATABASE_POOL_TIMEOUT's default).
POOL_TIMEOUT = 1.0


def _port() -> int:
    for port in range(9400, 9700):
        with socket.socket() as sock, contextlib.suppress(OSError):
            sock.bind(("127.0.0.1", port))
            return port
    raise RuntimeError("no free port from 9400")


class Cluster:
    """A throw-away PostgreSQL cluster; as root, its commands run as `postgres`."""

    def __init__(self, directory: Path):
        versions = sorted(
            glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(path.split("/")[-2])
        )
        if not versions:
            pytest.skip("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.bin, self.directory, self.port = Path(versions[-1]), directory, _port()
        self.data = directory / "data"
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        command = [
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.directory / "log"),
        ]
        subprocess.run(
            [*self.as_owner, *command, "-o", options, "-m", "fast", "-w", *args],
            check=True,
            capture_output=True,
        )

    def init(self) -> None:
        if self.as_owner:
            shutil.chown(self.directory, "postgres", "postgres")
        subprocess.run(
            [*self.as_owner, str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
             "--auth=trust", "--no-sync"],
            check=True,
            capture_output=True,
        )  # fmt: skip
        self.pg_ctl("start")


@pytest.fixture
def cluster():
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as
    # `postgres` when the tests run as root.
    directory = Path(tempfile.mkdtemp(prefix="warble-restart-"))
    cluster = Cluster(directory)
    cluster.init()
    yield cluster
    with contextlib.suppress(subprocess.CalledProcessError):
        cluster.pg_ctl("stop")
    shutil.rmtree(directory, ignore_errors=True)


def connect_to(cluster: Cluster, engine="common.postgresql", **pool):
    """The connection Django keeps for a database alias on `cluster`, as the settings make
    it, with a pool of its own (with `engine`'s class)."""
    alias = f"restart-{cluster.port}-{engine}"
    settings_dict = {
        **connections.settings["default"],
        "ENGINE": engine,
        "NAME": "postgres",
        "HOST": "127.0.0.1",
        "PORT": cluster.port,
        "USER": "postgres",
        "PASSWORD": "",
    }
    options = settings_dict["OPTIONS"] = dict(settings_dict["OPTIONS"])
    options["pool"] = {**options["pool"], "timeout": POOL_TIMEOUT, **pool}
    connections.settings[alias] = settings_dict
    return connections[alias]


def request(connection) -> float:
    """What a request does with the database (take a connection, query, give it back);
    returns the seconds it took."""
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
    finally:
        connection.close()
    return time.monotonic() - started


def fill_pool(connection, size: int) -> None:
    """Open `size` connections in the pool, as a busier moment earlier would have."""
    pool = connection.pool
    pool.open(wait=True)
    taken = [pool.getconn() for _ in range(size)]
    for raw in taken:
        pool.putconn(raw)
    # At least `size`: on a busy machine a checkout that waited RETRY_INTERVAL for the
    # pool's first connection has the pool start one more.
    assert pool.get_stats()["pool_available"] >= size


@pytest.fixture
def closing(django_db_blocker):
    """The connections to a cluster of the test's own (not the test database that
    pytest-django guards); closed, with their pools, at the end."""
    opened = []
    with django_db_blocker.unblock():
        yield opened.append
        for connection in opened:
            connection.close()
            connection.close_pool()
            del connections[connection.alias]
            del connections.settings[connection.alias]


def test_the_first_request_after_a_restart_succeeds(cluster, closing):
    """Four idle connections die with the server: the first request after `pg_ctl restart`
    gets a new one at once. psycopg's own pool (Django's backend) gives that request the
    dead ones one by one, pausing between failed checks, and it fails."""
    ours = connect_to(cluster, max_size=4)
    djangos = connect_to(cluster, "django.db.backends.postgresql", max_size=4)
    for connection in (ours, djangos):
        closing(connection)
        fill_pool(connection, 4)
    for _ in range(2):
        cluster.pg_ctl("restart")

        assert request(ours) < POOL_TIMEOUT
        assert ours.pool.get_stats()["pool_available"] >= 1
        # Every dead connection was replaced as the first one failed its check.
        for _ in range(4):
            assert request(ours) < POOL_TIMEOUT

    with pytest.raises(OperationalError, match="couldn't get a connection"):
        request(djangos)  # the failure this backend exists to avoid


def test_a_request_after_an_outage_does_not_wait_for_a_sleeping_reconnection(cluster, closing):
    """While PostgreSQL is down, a request answers within the pool timeout; the first request
    sent once it is back gets a connection at once, not after the pause of a reconnection
    attempt that failed during the outage (psycopg retries after 1 s, then 2 s ...)."""
    connection = connect_to(cluster, max_size=4)
    closing(connection)
    fill_pool(connection, 2)
    cluster.pg_ctl("stop")
    started = time.monotonic()
    with pytest.raises(OperationalError):
        request(connection)
    assert time.monotonic() - started < POOL_TIMEOUT + 2.0
    cluster.pg_ctl("start")
    assert request(connection) < POOL_TIMEOUT


def test_a_request_waiting_through_a_restart_gets_a_connection_once_the_server_answers(
    cluster, closing
):
    """A request that began waiting while the server was down asks again every
    RETRY_INTERVAL, so it is served as soon as the server answers, not failed."""
    connection = connect_to(cluster, max_size=4, timeout=6.0)
    closing(connection)
    fill_pool(connection, 1)
    cluster.pg_ctl("stop")
    outcome = {}

    def waiting_request():
        try:
            # The connection Django keeps for this thread, from the same pool.
            outcome["seconds"] = request(connections[connection.alias])
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=waiting_request)
    thread.start()
    time.sleep(3)  # longer than psycopg's own retries would go on (reconnect_timeout)
    cluster.pg_ctl("start")
    back = time.monotonic()
    thread.join(10)
    assert "error" not in outcome, outcome
    assert time.monotonic() - back < 3.0  # of the 6 s it may wait: it did not wait them out
