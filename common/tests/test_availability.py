"""A database outage is a retryable 503 (JSON, `Retry-After`) on every endpoint and a refused
websocket handshake, quickly; liveness stays 200; the outage is logged once."""

import asyncio
import json
import logging
import time

import pytest
import websockets
from django.db import OperationalError, connection
from django.db.backends.signals import connection_created
from django.db.backends.utils import CursorWrapper
from django.test import Client

from common.availability import RETRY_AFTER, database_outage
from common.testing import access_token, free_port, make_user
from notifications.tests.e2e import Stack, ahttp


def assert_unavailable(response):
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(RETRY_AFTER)
    assert "temporarily unavailable" in json.loads(response.content)["detail"]


@pytest.mark.django_db
def test_api_and_admin_answer_503_json_while_the_database_is_down(user, admin_user, caplog):
    api = Client(HTTP_AUTHORIZATION=f"Bearer {access_token(user)}")
    admin = Client()
    admin.force_login(admin_user)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CursorWrapper, "execute", _fail)
        with caplog.at_level(logging.WARNING, logger="warble.availability"):
            assert_unavailable(api.get("/api/feed/"))
            assert_unavailable(api.post("/api/posts/", {"text": "hi"}, "application/json"))
            assert_unavailable(admin.get("/admin/posts/post/"))
            assert Client().get("/healthz").status_code == 200
    outage_lines = [r for r in caplog.records if r.name == "warble.availability"]
    assert len(outage_lines) == 1, "the outage is logged once, not per request"
    assert not any(r.exc_info for r in caplog.records)
    # Back: the next connection Django takes logs the end of the outage, once.
    with caplog.at_level(logging.INFO, logger="warble.availability"):
        connection_created.send(sender=None, connection=connection)
        connection_created.send(sender=None, connection=connection)
    assert caplog.text.count("database available again") == 1
    assert api.get("/api/feed/").status_code == 200


def _fail(*args, **kwargs):
    raise OperationalError("terminating connection due to administrator command")


def test_a_bug_is_still_a_500():
    from common.views import server_error

    request = Client().get("/").wsgi_request
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500


def test_an_outage_met_outside_a_view_is_a_503_too():
    """handler500 runs while Django handles the exception (a middleware's, say)."""
    from common.views import server_error

    request = Client().get("/").wsgi_request
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = server_error(request)
    database_outage.up()
    assert_unavailable(response)


# --- the real servers, with the database unreachable ------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_db_connections")
async def test_servers_answer_within_about_a_second_while_the_database_is_down(tmp_path):
    """gunicorn (the API) and uvicorn (websockets) with PostgreSQL refusing connections: 503s
    within the short pool timeout, not after the default 10 s, and the process stays up."""
    from asgiref.sync import sync_to_async

    token = await sync_to_async(lambda: access_token(make_user("ghost")))()
    stack = Stack(tmp_path, broker=None)
    dead = {"DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/warble"}
    try:
        _, api = await asyncio.to_thread(stack.api, **dead)
        _, ws_base = await asyncio.to_thread(stack.websocket_server, **dead)
        for method, path in [("GET", "/api/feed/"), ("POST", "/api/posts/")]:
            started = time.monotonic()
            status, body = await ahttp(method, f"{api}{path}", token, {"text": "hello"})
            assert status == 503, body
            assert time.monotonic() - started < 2.5
            assert "unavailable" in body["detail"]
        status, body = await ahttp("GET", f"{api}/readyz")
        assert (status, body["checks"]) == (503, {"database": "unavailable"})
        status, _ = await ahttp("GET", f"{api}/healthz")
        assert status == 200

        started = time.monotonic()
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(f"{ws_base}/ws/notifications/?token={token}"):
                pass
        assert time.monotonic() - started < 2.5
        response = refused.value.response
        assert response.status_code == 503
        assert response.headers["Retry-After"] == str(RETRY_AFTER)
        assert "unavailable" in json.loads(response.body)["detail"]
        logs = stack.logs()
        assert "Traceback" not in logs
        # Once per process (two gunicorn workers and uvicorn), not once per request.
        assert 2 <= logs.count("retrying until it answers") <= 3
    finally:
        await asyncio.to_thread(stack.stop)
