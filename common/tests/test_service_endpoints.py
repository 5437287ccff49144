import logging

import pytest
import yaml
from django.core.management import call_command

from common.testing import free_port

pytestmark = pytest.mark.django_db


def test_probes_answer_whatever_the_host_header(anon, settings):
    settings.ALLOWED_HOSTS = ["social.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    assert anon.get("/healthz", HTTP_HOST="127.0.0.1:8000").status_code == 200
    assert anon.get("/readyz", HTTP_HOST="10.0.0.7").status_code == 200
    assert anon.get("/api/users/me/", HTTP_HOST="127.0.0.1:8000").status_code == 400


def test_healthz(anon):
    response = anon.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_without_a_broker_checks_the_database(anon):
    response = anon.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


def test_readyz_names_an_unreachable_broker(anon, settings):
    settings.RABBITMQ_URL = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    response = anon.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "unavailable"}


def test_readyz_names_an_unreachable_database(anon, monkeypatch):
    from common import health

    monkeypatch.setattr(health, "database_error", lambda timeout: "connection refused")
    response = anon.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unavailable"


@pytest.mark.parametrize("path", ["/docs", "/docs/"])
def test_docs_serve_swagger_ui_from_local_assets(anon, path):
    response = anon.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()


def test_schema_documents_bearer_auth_and_every_endpoint(anon):
    response = anon.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"
    paths = set(schema["paths"])
    assert {
        "/api/auth/register/",
        "/api/auth/login/",
        "/api/auth/refresh/",
        "/api/auth/logout/",
        "/api/users/",
        "/api/users/me/",
        "/api/users/me/avatar/",
        "/api/users/{username}/",
    } <= paths
    assert "websocket" in schema["info"]["description"].lower()


def test_schema_is_valid_and_has_no_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"))


def test_unknown_api_paths_are_json_404(anon):
    response = anon.get("/api/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert anon.get("/elsewhere/").status_code == 404


def test_requests_carry_an_id_and_are_logged_without_secrets(api, caplog):
    with caplog.at_level(logging.INFO, logger="warble.request"):
        response = api.get("/api/users/me/?token=secret-token-value", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    records = [r for r in caplog.records if r.name == "warble.request"]
    assert len(records) == 1
    record = records[0]
    assert record.request_id == "abc-123"
    assert record.status == 200 and record.path == "/api/users/me/"
    assert record.user_id is not None
    assert "secret-token-value" not in caplog.text
    assert "Bearer" not in caplog.text


def test_a_malformed_request_id_is_replaced(anon):
    response = anon.get("/api/users/me/", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert response["X-Request-ID"] != "bad id\nwith newline"
    assert len(response["X-Request-ID"]) == 32


def test_home_page(anon):
    response = anon.get("/")
    assert response.status_code == 200
    assert b">Sign in</button>" in response.content  # the web client's landing page


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("method", "path", "status", "answer"),
    [
        ("PUT", "/api/users/me/avatar/", 400, b"larger than"),
        ("POST", "/api/auth/login/", 413, b"Request body too large."),
    ],
)
def test_asgi_refuses_announced_oversize_bodies_without_reading_them(method, path, status, answer):
    """The body (999 MB announced) is never sent: the answer comes from its length alone.
    Run from this thread (async_to_sync), so the view's database work is this test's."""
    from asgiref.sync import async_to_sync
    from channels.testing import HttpCommunicator

    from common.testing import access_token, make_user
    from config.asgi import application

    token = access_token(make_user("alice"))
    communicator = HttpCommunicator(
        application,
        method,
        path,
        headers=[
            (b"content-length", b"999999999"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"host", b"localhost"),
        ],
    )
    response = async_to_sync(communicator.get_response)()
    assert response["status"] == status
    assert answer in response["body"]
