"""Log lines of the production API server, as an operator reads them."""

import json
import logging
import sys

import pytest

from common.logging import ExpectedFaults
from notifications.tests.e2e import Stack, http

pytestmark = pytest.mark.django_db(transaction=True)


def test_gunicorn_lines_are_json_when_asked_for(tmp_path):
    stack = Stack(tmp_path, broker=None)
    try:
        process, base = stack.api(LOG_FORMAT="json")
        status, _ = http("GET", f"{base}/api/users/me/")
        assert status == 401
    finally:
        stack.stop()
    records = []
    for line in process.output().splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
        else:
            # Python's own warnings (a missing static directory in a test run) are not log
            # records; anything else must be.
            assert "Warning" in line or line.startswith("  "), line
    by_logger = {record["logger"] for record in records}
    assert "gunicorn.error" in by_logger  # start-up, worker boots, shutdown
    assert "warble.request" in by_logger
    assert any(record["message"].startswith("Booting worker") for record in records)


# --- expected faults --------------------------------------------------------------


def _record(name: str, level: int, msg: str, args=(), exc_info=None) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, exc_info)


def test_a_worker_stopped_by_sigterm_is_not_an_error():
    record = _record("gunicorn.error", logging.ERROR, "Worker (pid:42) was sent SIGTERM!")
    assert ExpectedFaults().filter(record)
    assert record.levelname == "INFO"
    killed = _record("gunicorn.error", logging.ERROR, "Worker (pid:42) was sent SIGKILL!")
    ExpectedFaults().filter(killed)
    assert killed.levelname == "ERROR"


def test_reconnection_attempts_are_shown_once_per_window_without_tracebacks():
    quiet = ExpectedFaults(window=60)
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except OSError:
        exc_info = sys.exc_info()
    template = "Failure connecting to RabbitMQ: %s. Retrying"
    first = _record("channels_rabbitmq.core", logging.ERROR, template, ("refused",), exc_info)
    assert quiet.filter(first)
    assert (first.levelname, first.exc_info) == ("WARNING", None)
    again = _record("channels_rabbitmq.core", logging.ERROR, template, ("refused",), exc_info)
    assert not quiet.filter(again)
    ours = _record("warble.worker", logging.ERROR, "giving up on message")
    assert quiet.filter(ours) and ours.levelname == "ERROR"
