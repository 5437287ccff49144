"""gunicorn's settings as gunicorn itself reads them from `config/gunicorn.py`."""

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from common.testing import free_port
from notifications.tests.e2e import BIN, Process, Stack, wait_until_up

ROOT = Path(__file__).resolve().parents[2]

# Run in a process of its own: the hook changes the garbage collector of the process.
READ_AS_GUNICORN = """
import gc, json, sys
from gunicorn.app.wsgiapp import WSGIApplication

sys.argv = ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
cfg = WSGIApplication().cfg
before = {"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count()}
cfg.post_worker_init(None)
after = {"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count()}
# gunicorn's access line for a request: whether its fields are built at all.
from gunicorn import glogging
built = []
glogging.Logger.atoms = lambda *args: built.append(args) or {}
cfg.logger_class(cfg).access(None, None, {}, None)
print(json.dumps({
    "worker_class": cfg.worker_class_str, "before": before, "after": after,
    "has_log_config": bool(cfg.logconfig_dict), "access_fields_built": len(built),
}))
"""


def _read_as_gunicorn() -> dict:
    done = subprocess.run(
        [sys.executable, "-c", READ_AS_GUNICORN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_workers_freeze_what_they_loaded_and_collect_less_often():
    read = _read_as_gunicorn()
    assert read["worker_class"] == "config.workers.KeepAliveWorker"
    assert read["before"]["threshold"][0] == 700  # Python's default, until the hook runs
    assert read["before"]["frozen"] == 0
    # gunicorn knows the hook by its name and runs it: the youngest generation is larger,
    # the older ones as Python sets them, and what was loaded is out of the collector's way.
    assert read["after"]["threshold"] == [20_000, *read["before"]["threshold"][1:]]
    assert read["after"]["frozen"] > 1_000


def test_no_access_log_fields_are_built_for_the_access_log_nobody_writes():
    read = _read_as_gunicorn()
    # With a logging configuration, gunicorn's own logger builds each request's fields for
    # its access line whether or not anything writes it; requests are logged by the app.
    assert read["has_log_config"]
    assert read["access_fields_built"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_request_gunicorn_cannot_read_is_answered_in_the_apis_error_shape(tmp_path):
    stack = Stack(tmp_path, broker=None)
    try:
        _, base = stack.api()
        host, port = base.removeprefix("http://").split(":")
        # A request line past gunicorn's limit (8190 bytes): a search of 500 four-byte
        # characters and a long author name, percent-encoded.
        query = "%F2%8D%B1%AE" * 500 + "&author=" + "%F2%8D%B1%AE" * 200
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(f"GET /api/posts/?q={query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
    finally:
        stack.stop()
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0] == "HTTP/1.1 400 Bad Request"
    assert "Content-Type: application/json" in lines
    assert f"Content-Length: {len(body)}" in lines
    assert "Connection: close" in lines
    detail = json.loads(body)["detail"]
    assert detail.startswith("Bad Request: Request Line is too large (")
    assert detail.endswith(" > 8190)")


@contextlib.contextmanager
def _serving_thread_app(log_dir: Path, **env):
    """config/tests/thread_app.py served by gunicorn with `config/gunicorn.py`, two workers."""
    port = free_port()
    process = Process(
        "thread-app",
        [str(BIN / "gunicorn"), "-c", "config/gunicorn.py", "config.tests.thread_app:application"],
        {
            **os.environ,
            "SERVER_ADDRESS": "127.0.0.1",
            "SERVER_PORT": str(port),
            "WEB_CONCURRENCY": "2",
            "LOG_LEVEL": "warning",
            **env,
        },
        log_dir,
    ).start()
    try:
        wait_until_up(f"http://127.0.0.1:{port}/", process)
        yield port
    finally:
        process.stop(timeout=30)


def _answers_on_one_connection(port: int, count: int = 3) -> list[dict]:
    """`count` requests over one connection, which must stay open between them."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        answers, local_ports = [], set()
        for _ in range(count):
            connection.request("GET", "/")
            local_ports.add(connection.sock.getsockname()[1])
            response = connection.getresponse()
            assert response.status == 200
            assert response.getheader("Connection", "").lower() != "close"
            answers.append(json.loads(response.read()))
        # http.client reconnects silently: one local port means one connection throughout.
        assert len(local_ports) == 1
        return answers
    finally:
        connection.close()


def test_with_one_thread_a_worker_answers_in_its_main_thread_and_keeps_connections_alive(
    tmp_path,
):
    with _serving_thread_app(tmp_path) as port:
        answers = _answers_on_one_connection(port)
    assert all(answer["main_thread"] for answer in answers)
    assert len({answer["pid"] for answer in answers}) == 1


def test_with_more_threads_a_worker_answers_in_its_pool_as_gthread_does(tmp_path):
    with _serving_thread_app(tmp_path, WEB_THREADS="2") as port:
        answers = _answers_on_one_connection(port)
    assert not any(answer["main_thread"] for answer in answers)
    assert len({answer["pid"] for answer in answers}) == 1


def test_a_request_running_past_the_timeout_has_its_worker_replaced(tmp_path):
    with _serving_thread_app(tmp_path, GUNICORN_TIMEOUT="3", WEB_CONCURRENCY="1") as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        try:
            connection.request("GET", "/sleep/1")
            response = connection.getresponse()
            assert response.status == 200  # within the timeout
            worker = json.loads(response.read())["pid"]
            connection.request("GET", "/sleep/15")
            with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
                connection.getresponse()  # the worker was stopped mid-request
        finally:
            connection.close()
        # The arbiter started another worker in its place.
        (answer,) = _answers_on_one_connection(port, count=1)
        assert answer["pid"] != worker
