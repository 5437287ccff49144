"""What every page's template gets: the user and the CSRF token themselves, and the static
links rendered once per process."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.middleware.csrf import _unmask_cipher_token
from django.test import RequestFactory, override_settings
from django.utils.functional import SimpleLazyObject

from accounts.models import User
from web.context import resolved
from web.templatetags.web import page_assets

pytestmark = pytest.mark.django_db


def test_pages_get_the_signed_in_user_and_a_token_for_the_session_s_secret(client, user):
    client.force_login(user)
    response = client.get("/")
    context_user = response.context["user"]
    assert type(context_user) is User and context_user.pk == user.pk
    token = response.context["csrf_token"]
    assert type(token) is str and len(token) == 64
    # The token the forms carry is a masked copy of the secret in the cookie just set.
    secret = response.cookies["csrftoken"].value
    assert _unmask_cipher_token(token) == secret
    assert f'name="csrfmiddlewaretoken" value="{token}"' in response.content.decode()


def test_signed_out_pages_get_the_anonymous_user(client):
    assert client.get("/").context["user"].is_anonymous


def test_a_request_without_middleware_gets_the_anonymous_user():
    request = RequestFactory().get("/")
    assert isinstance(resolved(request)["user"], AnonymousUser)


def test_a_request_whose_user_is_not_lazy_keeps_it(user):
    request = RequestFactory().get("/")
    request.user = user
    assert resolved(request)["user"] is user
    request.user = SimpleLazyObject(lambda: user)
    request._cached_user = user
    assert type(resolved(request)["user"]) is User


def test_static_links_follow_the_static_url():
    assert 'href="/static/web/app.css"' in page_assets()
    with override_settings(STATIC_URL="/assets/"):
        assert 'href="/assets/web/app.css"' in page_assets()
    assert 'href="/static/web/app.css"' in page_assets()
