"""The production processes behind PgBouncer in transaction pooling mode (Debian's
`pgbouncer`, 1.18: no prepared statements across transactions), with
DATABASE_TRANSACTION_POOLING=true: the API serves every kind of request, and the worker's
fan-out (advisory transaction locks, SKIP LOCKED sweeps) fills the inboxes, while a few
server connections are shared by every client connection."""

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from common.testing import access_token, free_port, make_user
from notifications.tests.e2e import Stack, ahttp, broker_url, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_db_connections"),
    pytest.mark.slow,
    pytest.mark.postgres,
]


def pgbouncer_binary() -> str:
    binary = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    if binary is None:
        message = "pgbouncer is not installed (apt-get install pgbouncer)"
        if os.environ.get("REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    return binary


@pytest.fixture
def pgbouncer():
    """PgBouncer on a free port in front of the test database, transaction pooling, two
    server connections for everyone. It refuses to run as root: then it runs as postgres."""
    if connection.vendor != "postgresql":
        pytest.skip("PgBouncer fronts PostgreSQL")
    binary = pgbouncer_binary()
    settings = connection.settings_dict
    directory = Path(tempfile.mkdtemp(prefix="warble-pgbouncer-"))
    port = free_port()
    password = f" password={settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    (directory / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={settings['HOST'] or '127.0.0.1'} port={settings['PORT'] or 5432} "
        f"user={settings['USER'] or 'postgres'}{password}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = any\npool_mode = transaction\n"
        "default_pool_size = 2\nmax_client_conn = 200\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {directory / 'pgbouncer.log'}\npidfile = {directory / 'pgbouncer.pid'}\n"
    )
    as_postgres = []
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
        for path in directory.iterdir():
            shutil.chown(path, "postgres")
        as_postgres = ["-u", "postgres"]
    process = subprocess.Popen(
        [binary, *as_postgres, str(directory / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while subprocess.run(
        ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)], check=False
    ).returncode:
        if process.poll() is not None or time.monotonic() > deadline:
            log = (directory / "pgbouncer.log").read_text(errors="replace")
            pytest.fail(f"pgbouncer did not start:\n{log}")
        time.sleep(0.1)
    user = settings["USER"] or "postgres"
    yield f"postgres://{user}@127.0.0.1:{port}/{settings['NAME']}"
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(directory, ignore_errors=True)


@sync_to_async
def two_users():
    return [access_token(make_user(name)) for name in ("bouncer_a", "bouncer_b")]


async def test_the_api_and_the_worker_work_behind_pgbouncer(pgbouncer, tmp_path):
    stack = Stack(tmp_path, broker_url())
    behind = {
        "DATABASE_URL": pgbouncer,
        "DATABASE_TRANSACTION_POOLING": "true",
        "DATABASE_POOL_MAX_SIZE": "3",
    }
    try:
        alice, bob = await two_users()
        _, api = await asyncio.to_thread(stack.api, **behind)
        stack.worker(**behind)
        status, _ = await ahttp("POST", f"{api}/api/users/bouncer_b/follow/", alice)
        assert status == 201
        posts = []
        # More requests than DATABASE_PREPARE_THRESHOLD, from both API workers, over two
        # shared server connections: a prepared statement would be missing or clash.
        for index in range(12):
            status, body = await ahttp("POST", f"{api}/api/posts/", bob, {"text": f"hop {index}"})
            assert status == 201, body
            posts.append(body["id"])
            for path in ("/api/feed/", "/api/posts/?q=hop", "/api/users/me/"):
                status, body = await ahttp("GET", f"{api}{path}", alice)
                assert status == 200, (path, body)

        async def inbox():
            status, body = await ahttp("GET", f"{api}/api/notifications/?page_size=50", alice)
            assert status == 200, body
            return sorted(item["post"]["id"] for item in body["results"] if item.get("post"))

        async def complete():
            return await inbox() == sorted(posts)

        await wait_for(complete, 30, 0.3, "every post fanned out behind PgBouncer")
        status, body = await ahttp("GET", f"{api}/readyz")
        assert status == 200, body
        logs = stack.logs()
        assert "Traceback" not in logs
        assert "prepared statement" not in logs
    finally:
        await asyncio.to_thread(stack.stop)
