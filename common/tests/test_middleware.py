"""Browsers' middleware (sessions, their sign-in, messages, htmx) and the API's requests."""

import asyncio

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from accounts.sessions import AuthenticationMiddleware
from common.middleware import HtmxMiddleware, MessageMiddleware, SessionMiddleware
from common.testing import access_token

# What each layer sets on a request it handles.
LAYERS = [
    (SessionMiddleware, "session"),
    (AuthenticationMiddleware, "user"),
    (MessageMiddleware, "_messages"),
    (HtmxMiddleware, "htmx"),
]


def _chain(handler):
    """The four layers in settings' order around `handler`."""
    for layer, _ in reversed(LAYERS):
        handler = layer(handler)
    return handler


def _set_on(request) -> set[str]:
    return {attribute for _, attribute in LAYERS if hasattr(request, attribute)}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/feed/", set()),
        ("/api/users/alice/", set()),
        ("/", {"session", "user", "_messages", "htmx"}),
        ("/alice", {"session", "user", "_messages", "htmx"}),
        ("/admin/", {"session", "user", "_messages", "htmx"}),
        ("/apiary", {"session", "user", "_messages", "htmx"}),  # not under /api/
    ],
)
def test_the_api_passes_browsers_middleware_untouched(path, expected):
    seen = []

    def view(request):
        seen.append(_set_on(request))
        return HttpResponse(b"[]", content_type="application/json")

    response = _chain(view)(RequestFactory().get(path))
    assert seen == [expected]
    assert response.status_code == 200
    assert not response.cookies


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/api/feed/", set()), ("/", {"session", "user", "_messages", "htmx"})],
)
def test_the_same_under_asgi(path, expected):
    seen = []

    async def view(request):
        seen.append(_set_on(request))
        return HttpResponse(b"[]", content_type="application/json")

    response = asyncio.run(_chain(view)(RequestFactory().get(path)))
    assert seen == [expected]
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_browser_session_sent_to_the_api_neither_signs_in_nor_changes_the_answer(
    client, user, api
):
    client.force_login(user)
    assert client.get("/").status_code == 200  # the page is signed in by the session
    # The same browser's cookie on the API: no token, no account.
    refused = client.get("/api/feed/")
    assert refused.status_code == 401
    # With the token, the answer is the token's, with nothing of the session in it.
    with_cookie = client.get("/api/feed/", HTTP_AUTHORIZATION=f"Bearer {access_token(user)}")
    without = api.get("/api/feed/")
    assert with_cookie.status_code == without.status_code == 200
    assert with_cookie.content == without.content
    headers = [dict(response.headers) for response in (with_cookie, without)]
    for each in headers:
        each.pop("X-Request-ID")  # new for each request
    assert headers[0] == headers[1]
    assert not with_cookie.cookies
