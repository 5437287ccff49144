"""Sessions that end: sign-out, sign-out everywhere, password change and suspension end
access tokens at once, not when they expire."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt import authentication as simplejwt_authentication
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.authentication import CheckAhead, CheckAheadMixin, JWTAuthentication
from accounts.models import AccountSession, User
from common.testing import PASSWORD, client_for

pytestmark = pytest.mark.django_db

LOGIN = "/api/auth/login/"
REFRESH = "/api/auth/refresh/"
LOGOUT = "/api/auth/logout/"
ME = "/api/users/me/"
PASSWORD_URL = "/api/users/me/password/"
NEW_PASSWORD = "a-brand-new-passphrase-42"


def sign_in(username="alice", password=PASSWORD) -> dict:
    response = APIClient().post(LOGIN, {"username": username, "password": password})
    assert response.status_code == 200, response.content
    return response.json()


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def me_status(access: str) -> int:
    return bearer(access).get(ME).status_code


def refresh_status(refresh: str) -> int:
    return APIClient().post(REFRESH, {"refresh": refresh}, format="json").status_code


def test_sign_in_starts_a_session_named_in_both_tokens(user):
    tokens = sign_in()
    session = AccountSession.objects.get(user=user)
    assert AccessToken(tokens["access"])["sid"] == session.pk
    assert RefreshToken(tokens["refresh"])["sid"] == session.pk
    assert session.refresh_jti == RefreshToken(tokens["refresh"])["jti"]


def test_logout_ends_the_calling_access_token_at_once(user):
    tokens = sign_in()
    assert me_status(tokens["access"]) == 200
    response = bearer(tokens["access"]).post(LOGOUT, {"refresh": tokens["refresh"]})
    assert response.status_code == 204
    assert me_status(tokens["access"]) == 401
    assert refresh_status(tokens["refresh"]) == 401


def test_logout_with_the_refresh_token_alone_ends_its_access_tokens(user):
    tokens = sign_in()
    assert APIClient().post(LOGOUT, {"refresh": tokens["refresh"]}).status_code == 204
    assert me_status(tokens["access"]) == 401


def test_logout_with_the_access_token_alone(user):
    tokens = sign_in()
    assert bearer(tokens["access"]).post(LOGOUT, {}, format="json").status_code == 204
    assert me_status(tokens["access"]) == 401
    assert refresh_status(tokens["refresh"]) == 401


def test_logout_ends_every_access_token_of_the_session_across_refreshes(user):
    first = sign_in()
    rotated = APIClient().post(REFRESH, {"refresh": first["refresh"]}).json()
    assert AccessToken(rotated["access"])["sid"] == AccessToken(first["access"])["sid"]
    assert me_status(first["access"]) == 200
    assert APIClient().post(LOGOUT, {"refresh": rotated["refresh"]}).status_code == 204
    assert me_status(first["access"]) == 401
    assert me_status(rotated["access"]) == 401


def test_other_sessions_continue_after_a_logout(user):
    phone, laptop = sign_in(), sign_in()
    assert bearer(phone["access"]).post(LOGOUT, {"refresh": phone["refresh"]}).status_code == 204
    assert me_status(phone["access"]) == 401
    assert me_status(laptop["access"]) == 200
    assert refresh_status(laptop["refresh"]) == 200


def test_a_stale_or_signed_out_access_token_does_not_block_a_logout(user):
    old, current = sign_in(), sign_in()
    bearer(old["access"]).post(LOGOUT, {}, format="json")
    for header in [old["access"], "expired-or-garbage"]:
        response = bearer(header).post(LOGOUT, {"refresh": current["refresh"]})
        assert response.status_code == 204
        current = sign_in()


def test_logout_needs_a_credential(anon, user):
    response = anon.post(LOGOUT, {}, format="json")
    assert response.status_code == 400
    assert "refresh" in response.json()
    assert bearer("garbage").post(LOGOUT, {}, format="json").status_code == 400


def test_logout_refuses_tokens_of_two_accounts(user, other):
    alice, bob = sign_in("alice"), sign_in("bob")
    response = bearer(bob["access"]).post(LOGOUT, {"refresh": alice["refresh"]})
    assert response.status_code == 400
    assert me_status(alice["access"]) == 200
    assert me_status(bob["access"]) == 200


def test_logout_all_ends_every_session_of_the_account(user, other):
    sessions = [sign_in() for _ in range(3)]
    scripted = client_for(user)  # a token minted outside sign-in, of no session
    bobs = sign_in("bob")
    response = bearer(sessions[0]["access"]).post(
        LOGOUT, {"refresh": sessions[0]["refresh"], "all": True}, format="json"
    )
    assert response.status_code == 204
    for tokens in sessions:
        assert me_status(tokens["access"]) == 401
        assert refresh_status(tokens["refresh"]) == 401
    assert scripted.get(ME).status_code == 401
    assert not AccountSession.objects.filter(user=user).exists()
    # Every refresh token of the account is blacklisted, not only refused.
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    assert not OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).exists()
    assert me_status(bobs["access"]) == 200
    # Signing in again works.
    assert me_status(sign_in()["access"]) == 200


def test_logout_all_with_only_the_access_token(user):
    first, second = sign_in(), sign_in()
    response = bearer(first["access"]).post(LOGOUT, {"all": True}, format="json")
    assert response.status_code == 204
    assert me_status(first["access"]) == 401
    assert me_status(second["access"]) == 401
    assert refresh_status(second["refresh"]) == 401


def test_a_sessionless_refresh_token_joins_a_session_when_refreshed(user):
    legacy = RefreshToken.for_user(user)
    rotated = APIClient().post(REFRESH, {"refresh": str(legacy)}).json()
    sid = AccessToken(rotated["access"])["sid"]
    assert AccountSession.objects.filter(pk=sid, user=user).exists()
    assert APIClient().post(LOGOUT, {"refresh": rotated["refresh"]}).status_code == 204
    assert me_status(rotated["access"]) == 401


def test_logout_of_a_sessionless_refresh_token_ends_the_sessionless_tokens(user):
    legacy = RefreshToken.for_user(user)
    signed_in = sign_in()
    access = str(legacy.access_token)
    assert APIClient().post(LOGOUT, {"refresh": str(legacy)}).status_code == 204
    assert me_status(access) == 401
    assert me_status(signed_in["access"]) == 200


def test_a_token_naming_another_accounts_session_is_refused(user, other):
    alices = sign_in()
    forged = AccessToken.for_user(other)
    forged["sid"] = AccessToken(alices["access"])["sid"]
    assert me_status(str(forged)) == 401


@pytest.mark.parametrize("sid", ["7", 0, -1, 2**70, 1.5, [1]])
def test_a_malformed_session_claim_is_refused(user, sid):
    token = AccessToken.for_user(user)
    token["sid"] = sid
    assert me_status(str(token)) == 401


# --- password change ---------------------------------------------------------------------


def change_password(access: str, old=PASSWORD, new=NEW_PASSWORD):
    return bearer(access).post(
        PASSWORD_URL, {"old_password": old, "new_password": new}, format="json"
    )


def test_password_change_ends_the_other_sessions_and_keeps_the_callers(user):
    caller, other_device, another = sign_in(), sign_in(), sign_in()
    assert change_password(caller["access"]).status_code == 204
    for tokens in (other_device, another):
        assert me_status(tokens["access"]) == 401
        assert refresh_status(tokens["refresh"]) == 401
    assert me_status(caller["access"]) == 200
    rotated = APIClient().post(REFRESH, {"refresh": caller["refresh"]})
    assert rotated.status_code == 200
    assert me_status(rotated.json()["access"]) == 200
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert APIClient().post(LOGIN, {"username": "alice", "password": PASSWORD}).status_code == 401
    assert me_status(sign_in(password=NEW_PASSWORD)["access"]) == 200


def test_password_change_with_a_wrong_old_password(user):
    tokens, other_device = sign_in(), sign_in()
    response = change_password(tokens["access"], old="not-my-password")
    assert response.status_code == 400
    assert list(response.json()) == ["old_password"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert me_status(other_device["access"]) == 200


@pytest.mark.parametrize("weak", ["short", "password123", "12345678901", "alicexx1"])
def test_password_change_to_a_weak_password(user, weak):
    tokens = sign_in()
    response = change_password(tokens["access"], new=weak)
    assert response.status_code == 400
    assert list(response.json()) == ["new_password"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_needs_both_fields_and_a_token(anon, user):
    tokens = sign_in()
    response = bearer(tokens["access"]).post(PASSWORD_URL, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"old_password", "new_password"}
    response = anon.post(
        PASSWORD_URL, {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 401


def test_a_signed_out_token_cannot_change_the_password(user):
    tokens = sign_in()
    bearer(tokens["access"]).post(LOGOUT, {}, format="json")
    assert change_password(tokens["access"]).status_code == 401
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


@pytest.mark.throttled
def test_password_change_is_throttled_per_user(user, other, monkeypatch):
    monkeypatch.setattr(
        ScopedRateThrottle, "THROTTLE_RATES", {"password_change": "2/hour", "login": "100/min"}
    )
    tokens = sign_in()
    statuses = [change_password(tokens["access"], old="wrong").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    response = change_password(tokens["access"])
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    # Keyed by user: another account is not affected.
    assert change_password(sign_in("bob")["access"]).status_code == 204


# --- suspension and deletion -------------------------------------------------------------


def test_a_suspended_accounts_tokens_are_refused_and_stay_signed_out(user, admin_user):
    tokens = sign_in()
    admin = client_for(admin_user)
    assert admin.patch("/api/users/alice/", {"is_active": False}, format="json").status_code == 200
    assert me_status(tokens["access"]) == 401
    assert refresh_status(tokens["refresh"]) == 401
    # Reinstated, the account must sign in again.
    assert admin.patch("/api/users/alice/", {"is_active": True}, format="json").status_code == 200
    assert me_status(tokens["access"]) == 401
    assert me_status(sign_in()["access"]) == 200


def test_a_deleted_accounts_session_tokens_are_refused(user):
    tokens = sign_in()
    assert bearer(tokens["access"]).delete(ME).status_code == 204
    assert me_status(tokens["access"]) == 401
    assert refresh_status(tokens["refresh"]) == 401
    assert not AccountSession.objects.exists()


# --- cost and housekeeping ---------------------------------------------------------------


def test_the_session_check_adds_no_query(user, monkeypatch):
    tokens = sign_in()

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert me_status(tokens["access"]) == 200
        return len(captured)

    queries()  # the process keeps the account from here on (PostgreSQL)
    checked = queries()
    monkeypatch.setattr(
        JWTAuthentication, "get_user", simplejwt_authentication.JWTAuthentication.get_user
    )
    assert queries() == checked
    monkeypatch.undo()
    # And the account's state is read with its session check in one statement.
    with CaptureQueriesContext(connection) as captured:
        me_status(tokens["access"])
    auth = [q["sql"] for q in captured if "accounts_accountsession" in q["sql"]]
    assert len(auth) == 1
    assert "accounts_user" in auth[0]


def test_a_changed_account_is_read_again_and_a_deactivated_one_refused_at_once(user):
    tokens = sign_in()
    client = bearer(tokens["access"])
    assert client.get("/api/users/me/").json()["display_name"] == user.display_name
    # Changed behind the process's back (another process, the admin, SQL).
    User.objects.filter(pk=user.pk).update(display_name="Renamed")
    assert client.get("/api/users/me/").json()["display_name"] == "Renamed"
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/api/users/me/").status_code == 401
    User.objects.filter(pk=user.pk).update(is_active=True)
    assert client.get("/api/users/me/").status_code == 200
    User.objects.filter(pk=user.pk).delete()
    assert client.get("/api/users/me/").status_code == 401


def test_each_request_gets_its_own_account_instance(user, rf):
    tokens = sign_in()
    authentication = JWTAuthentication()
    request = rf.get("/", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    first, _ = authentication.authenticate(request)
    first.display_name = "changed but never saved"
    second, _ = authentication.authenticate(request)
    assert second is not first
    assert second.display_name == user.display_name


def test_a_token_that_expired_since_it_was_first_seen_is_refused(user, monkeypatch):
    tokens = sign_in()
    assert me_status(tokens["access"]) == 200
    later = timezone.now() + timedelta(days=2)
    monkeypatch.setattr("accounts.authentication.now", lambda: later)
    monkeypatch.setattr("rest_framework_simplejwt.tokens.aware_utcnow", lambda: later)
    assert me_status(tokens["access"]) == 401


def test_expired_sessions_are_purged_at_sign_in(user, other):
    stale = AccountSession.objects.create(
        user=other, refresh_jti="x", expires_at=timezone.now() - timedelta(seconds=1)
    )
    live = AccountSession.objects.create(
        user=other, refresh_jti="y", expires_at=timezone.now() + timedelta(days=1)
    )
    sign_in()
    assert not AccountSession.objects.filter(pk=stale.pk).exists()
    assert AccountSession.objects.filter(pk=live.pk).exists()


def test_signed_out_sessions_leave_no_row(user):
    tokens = sign_in()
    APIClient().post(LOGOUT, {"refresh": tokens["refresh"]})
    assert not AccountSession.objects.exists()
    assert User.objects.get(pk=user.pk).sessions_valid_after is None


# --- the check read ahead, by the view's statement (read-only views, PostgreSQL) ---------

# The lists of posts: their page's statement reads the account's state too.
HOT_READS = ["/api/feed/", "/api/users/alice/posts/", "/api/posts/?q=hello"]
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="accounts are kept on PostgreSQL only"
)


def with_a_post(client, path: str) -> str:
    """`path` with `{post}` naming a post of the client's, made first."""
    response = client.post("/api/posts/", {"text": "hello there"}, format="json")
    assert response.status_code == 201
    return path.format(post=response.json()["id"])


@pytest.fixture
def ahead_outcomes(monkeypatch):
    """Each checked-ahead request's outcome: whether the kept account was confirmed."""
    outcomes = []
    confirmed = CheckAhead.confirmed

    def spy(self, failing=False):
        result = confirmed(self, failing)
        if self.expected is not None:
            outcomes.append(result)
        return result

    monkeypatch.setattr(CheckAhead, "confirmed", spy)
    return outcomes


@postgresql_only
@pytest.mark.parametrize("path", HOT_READS)
def test_a_hot_read_reads_the_account_with_its_page(user, path, ahead_outcomes, monkeypatch):
    tokens = sign_in()
    client = bearer(tokens["access"])
    path = with_a_post(client, path)
    first = client.get(path)  # reads the account: what was kept has changed since
    assert first.status_code == 200

    def statements() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).content == first.content
        return [query["sql"] for query in captured]

    ahead_outcomes.clear()
    ahead = statements()
    assert ahead_outcomes == [True]
    assert "accounts_accountsession" in ahead[0] and "posts_post" in ahead[0]
    monkeypatch.setattr(CheckAheadMixin, "dispatch", APIView.dispatch)
    ordinary = statements()
    assert "posts_post" not in ordinary[0]  # the state's own statement
    assert len(ahead) == len(ordinary) - 1


@postgresql_only
@pytest.mark.parametrize("path", HOT_READS)
def test_a_hot_read_refuses_at_once_what_the_ordinary_check_refuses(user, path, ahead_outcomes):
    tokens = sign_in()
    client = bearer(tokens["access"])
    path = with_a_post(client, path)
    assert client.get(path).status_code == 200
    ordinary = bearer(tokens["access"])

    User.objects.filter(pk=user.pk).update(is_active=False)
    refused = client.get(path)
    inactive = ordinary.get(ME)
    assert (refused.status_code, inactive.status_code) == (401, 401)
    assert refused.json() == inactive.json()
    assert refused["WWW-Authenticate"] == inactive["WWW-Authenticate"]
    User.objects.filter(pk=user.pk).update(is_active=True)
    assert client.get(path).status_code == 200

    assert client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json").status_code == 204
    signed_out = client.get(path)
    assert signed_out.status_code == 401
    assert signed_out.json() == ordinary.get(ME).json()
    assert False in ahead_outcomes


@postgresql_only
def test_a_hot_read_answers_again_for_an_account_changed_since_it_was_kept(user, ahead_outcomes):
    tokens = sign_in()
    client = bearer(tokens["access"])
    assert client.post("/api/posts/", {"text": "hello there"}, format="json").status_code == 201
    assert client.get("/api/feed/").status_code == 200
    assert client.get("/api/feed/").status_code == 200
    assert ahead_outcomes[-1] is True
    # Changed behind the process's back: the kept account is stale, so the answer made
    # with it is thrown away and made again with the account as it is now.
    User.objects.filter(pk=user.pk).update(display_name="Renamed")
    feed = client.get("/api/feed/").json()["results"]
    assert feed[0]["author"]["display_name"] == "Renamed"
    assert ahead_outcomes[-1] is False
    assert client.get("/api/feed/").json()["results"] == feed
    assert ahead_outcomes[-1] is True


@postgresql_only
def test_a_write_is_never_checked_ahead(user, ahead_outcomes):
    tokens = sign_in()
    client = bearer(tokens["access"])
    assert client.get("/api/feed/").status_code == 200
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert client.post("/api/posts/", {"text": "hello"}, format="json").status_code == 401
    assert ahead_outcomes == []
