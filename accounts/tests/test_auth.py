import pytest
from django.db import IntegrityError
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from common.testing import PASSWORD, access_token, client_for, make_user

pytestmark = pytest.mark.django_db

REGISTER = "/api/auth/register/"
LOGIN = "/api/auth/login/"
REFRESH = "/api/auth/refresh/"
LOGOUT = "/api/auth/logout/"
ME = "/api/users/me/"


def register(client, **body):
    body = {"username": "carol", "password": PASSWORD, **body}
    return client.post(REGISTER, body, format="json")


def login(client, username="alice", password=PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password}, format="json")


def test_register_returns_the_self_view(anon):
    response = register(anon, email="Carol@Example.COM", display_name="Carol")
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "carol"
    assert body["email"] == "Carol@example.com"
    assert body["role"] == "user"
    assert body["display_name"] == "Carol"
    assert body["avatar_url"] is None
    assert (body["followers_count"], body["following_count"], body["posts_count"]) == (0, 0, 0)
    assert "password" not in body
    assert User.objects.get(username="carol").check_password(PASSWORD)


@pytest.mark.parametrize("taken", ["alice", "ALICE", "Alice"])
def test_register_rejects_a_username_taken_in_any_case(anon, user, taken):
    response = register(anon, username=taken)
    assert response.status_code == 400
    assert "username" in response.json()
    assert User.objects.count() == 1


def test_database_refuses_usernames_that_differ_only_in_case(user):
    with pytest.raises(IntegrityError):
        make_user("ALICE")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "123"}, "password"),
        ({"password": "password"}, "password"),
        ({"password": "carol123"}, "password"),
        ({"username": ""}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "x" * 151}, "username"),
        ({"username": "me"}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"role": "owner"}, "role"),
        ({"username": "nul\x00byte"}, "username"),
        # Non-ASCII letters: their case could not be folded alike by every database.
        ({"username": "Élodie"}, "username"),
        ({"username": "привет"}, "username"),
    ],
)
def test_register_validation_errors(anon, body, field):
    response = register(anon, **body)
    assert response.status_code == 400
    assert field in response.json()
    assert not User.objects.exists()


def test_register_requires_username_and_password(anon):
    response = anon.post(REGISTER, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}


def test_register_rejects_malformed_json(anon):
    response = anon.post(REGISTER, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_nobody_registers_themselves_as_admin(anon, api):
    assert register(anon, role="admin").status_code == 403
    assert register(api, role="admin").status_code == 403
    assert not User.objects.filter(is_staff=True).exists()


def test_an_admin_may_create_an_admin(admin_user):
    response = register(client_for(admin_user), role="admin")
    assert response.status_code == 201
    assert response.json()["role"] == "admin"
    assert User.objects.get(username="carol").is_staff


def test_login_returns_a_token_pair_that_authenticates(anon, user):
    response = login(anon)
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access", "refresh"}
    access = AccessToken(tokens["access"])
    assert access["user_id"] == str(user.pk) or access["user_id"] == user.pk
    assert access["iss"] == "warble"
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert anon.get(ME).json()["username"] == "alice"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_bearer_scheme_is_case_insensitive(anon, user, scheme):
    anon.credentials(HTTP_AUTHORIZATION=f"{scheme} {access_token(user)}")
    assert anon.get(ME).status_code == 200


def test_login_ignores_username_case(anon, user):
    assert login(anon, username="ALICE").status_code == 200


@pytest.mark.parametrize(
    ("username", "password"), [("alice", "wrong-password"), ("nobody", PASSWORD)]
)
def test_wrong_credentials_are_401(anon, user, username, password):
    response = login(anon, username, password)
    assert response.status_code == 401
    assert "detail" in response.json()


def test_inactive_user_cannot_log_in(anon, user):
    user.is_active = False
    user.save()
    assert login(anon).status_code == 401


def test_access_lifetime_is_one_hour_by_default(anon, user):
    access = AccessToken(login(anon).json()["access"])
    assert access["exp"] - access["iat"] == 3600


def test_refresh_rotates_and_blacklists_the_old_token(anon, user):
    first = login(anon).json()
    response = anon.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert response.status_code == 200
    second = response.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"]
    # The old refresh token is spent.
    reused = anon.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert reused.status_code == 401
    # The new one works.
    assert anon.post(REFRESH, {"refresh": second["refresh"]}, format="json").status_code == 200


@pytest.mark.parametrize("token", ["garbage", "", "a.b.c"])
def test_refresh_with_a_bad_token(anon, token):
    response = anon.post(REFRESH, {"refresh": token}, format="json")
    assert response.status_code in (400, 401)


def test_an_access_token_is_not_a_refresh_token(anon, user):
    tokens = login(anon).json()
    assert anon.post(REFRESH, {"refresh": tokens["access"]}, format="json").status_code == 401


def test_logout_revokes_the_refresh_token(anon, user):
    tokens = login(anon).json()
    assert anon.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json").status_code == 204
    assert anon.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401
    assert anon.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_logout_validation(anon):
    assert anon.post(LOGOUT, {}, format="json").status_code == 400
    assert anon.post(LOGOUT, {"refresh": "nope"}, format="json").status_code == 401


def test_a_deleted_users_tokens_are_rejected(anon, user):
    tokens = login(anon).json()
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.delete(ME).status_code == 204
    assert client.get(ME).status_code == 401
    assert anon.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_a_deactivated_users_tokens_are_rejected(anon, user):
    tokens = login(anon).json()
    user.is_active = False
    user.save()
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get(ME).status_code == 401
    assert anon.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401


@pytest.mark.parametrize(
    "header",
    ["Bearer nonsense", "Bearer", "Token abc", "Bearer a.b.c", "Bearer " + "x" * 5000],
)
def test_bad_authorization_headers_are_401(anon, header):
    anon.credentials(HTTP_AUTHORIZATION=header)
    assert anon.get(ME).status_code == 401


def test_token_signed_with_another_key_is_401(anon, user, settings):
    token = AccessToken.for_user(user)
    forged = token.token_backend.__class__(
        "HS256", signing_key="another-key-entirely-another-key", issuer="warble"
    ).encode(token.payload)
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert anon.get(ME).status_code == 401


@pytest.mark.throttled
def test_login_is_throttled_with_retry_after(anon, user, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "3/min"})
    statuses = [login(anon, password="wrong").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    response = login(anon)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


@pytest.mark.throttled
def test_register_is_throttled(anon, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"register": "2/hour"})
    assert register(anon, username="u1").status_code == 201
    assert register(anon, username="u2").status_code == 201
    response = register(anon, username="u3")
    assert response.status_code == 429
    assert "Retry-After" in response
    assert not User.objects.filter(username="u3").exists()


def test_logout_works_with_a_stale_access_token_in_the_header(anon, user):
    tokens = login(anon).json()
    anon.credentials(HTTP_AUTHORIZATION="Bearer expired-or-garbage")
    assert anon.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json").status_code == 204
    anon.credentials()
    assert anon.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_an_overlong_email_is_a_400_not_a_database_error(anon, api):
    address = "a" * 250 + "@example.com"
    assert register(anon, email=address).status_code == 400
    assert api.patch(ME, {"email": address}, format="json").status_code == 400


def test_a_missing_trailing_slash_redirects_keeping_method_and_body(anon, user):
    response = anon.post(LOGIN.rstrip("/"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 308
    assert response["Location"] == LOGIN
    followed = anon.post(
        LOGIN.rstrip("/"), {"username": "alice", "password": PASSWORD}, format="json", follow=True
    )
    assert followed.status_code == 200
    assert set(followed.json()) == {"access", "refresh"}
