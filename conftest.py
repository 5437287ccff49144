"""Test fixtures shared by every app.

Tests run on SQLite when nothing is configured and on PostgreSQL when DATABASE_URL points at
it. Unless a test asks for the broker, the embedded transport runs with fan-out executed
synchronously after commit (FANOUT_EAGER), so feeds and inboxes can be asserted at once.
"""

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from django.core.cache import cache
from django.db import connections
from rest_framework.test import APIClient

from accounts import authentication
from accounts.models import Role, User
from common.testing import client_for, make_user


@pytest.fixture
async def close_db_connections():
    """Connections opened by sync_to_async threads (views under ASGI, consumers) must be
    closed before the test database is flushed or dropped."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.FANOUT_EAGER = True
    settings.RABBITMQ_URL = ""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    channel_layers.backends.clear()
    # What the process keeps of accounts and tokens: a test's users reuse earlier ids.
    authentication.forget()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _no_throttling(request, monkeypatch):
    """Throttling has its own tests; elsewhere it would only make tests order-dependent."""
    if "throttled" in request.keywords:
        return
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "allow_request", lambda self, request, view: True)


@pytest.fixture
def user(db) -> User:
    return make_user("alice", display_name="Alice")


@pytest.fixture
def other(db) -> User:
    return make_user("bob", display_name="Bob")


@pytest.fixture
def admin_user(db) -> User:
    return make_user("root", role=Role.ADMIN)


@pytest.fixture
def api(user) -> APIClient:
    return client_for(user)


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def alice(user) -> APIClient:
    """A client signed in as `user` (alice)."""
    return client_for(user)


@pytest.fixture
def bob(other) -> APIClient:
    """A client signed in as `other` (bob)."""
    return client_for(other)
