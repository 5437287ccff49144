"""gunicorn's settings as gunicorn itself reads them from `config/gunicorn.py`."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from notifications.tests.e2e import Stack

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
    assert read["worker_class"] == "gthread"
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
