"""SIGTERM stops each production process cleanly: it exits by itself, closes its AMQP
connections without "exception was never retrieved" or "Future exception" tracebacks, and
logs nothing at ERROR (gunicorn's worker stop included)."""

import asyncio
import re
import signal

import pytest
import websockets
from asgiref.sync import sync_to_async

from common.testing import access_token, make_user
from notifications.tests.e2e import Stack, broker_url, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_db_connections"),
    pytest.mark.slow,
]

PROBLEMS = re.compile(
    r"Traceback|never retrieved|Future exception|Task was destroyed| ERROR |CRITICAL"
)


def assert_clean(process) -> None:
    process.stop(signal.SIGTERM, timeout=30)
    assert process.popen.returncode in (0, -signal.SIGTERM), process.output()
    problems = [line for line in process.output().splitlines() if PROBLEMS.search(line)]
    assert not problems, process.output()[-4000:]


@pytest.mark.parametrize("server", ["uvicorn", "daphne", "embedded"])
async def test_websocket_servers_stop_cleanly_with_open_sockets(server, tmp_path):
    """With a socket open that has exchanged frames (daphne used to die of SIGSEGV there:
    config/daphne.py). `embedded` is `manage.py serve`: daphne with the in-memory layer."""
    token = await sync_to_async(lambda: access_token(make_user("listener")))()
    stack = Stack(tmp_path, broker_url())
    try:
        if server == "embedded":
            process, host = await asyncio.to_thread(stack.embedded)
            ws_base = f"ws://{host}"
        else:
            process, ws_base = await asyncio.to_thread(stack.websocket_server, server)
        socket = await websockets.connect(f"{ws_base}/ws/notifications/?token={token}&since=0")
        await socket.send('{"type": "ping"}')
        assert "pong" in await asyncio.wait_for(socket.recv(), 5)
        await asyncio.to_thread(assert_clean, process)
        await socket.close()
    finally:
        await asyncio.to_thread(stack.stop)


async def test_the_api_and_the_worker_stop_cleanly(tmp_path):
    stack = Stack(tmp_path, broker_url())
    try:
        api, _ = await asyncio.to_thread(stack.api)
        worker = stack.worker()
        await wait_for(lambda: "worker consuming" in worker.output(), 15)
        await asyncio.to_thread(assert_clean, api)
        await asyncio.to_thread(assert_clean, worker)
        assert "worker stopped" in worker.output()
    finally:
        await asyncio.to_thread(stack.stop)
