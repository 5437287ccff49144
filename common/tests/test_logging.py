"""Log lines of the production API server, as an operator reads them."""

import json

import pytest

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
