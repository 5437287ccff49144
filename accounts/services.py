"""Writes to accounts: registration, profile edits, access changes, avatars, deletion."""

import logging

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.images import avatar_file_name, prepare_avatar
from accounts.models import SESSION_CLAIM, AccountSession, Role, User
from common import events
from common.exceptions import ServiceUnavailable
from common.locks import author_fanout_lock
from follows.models import Follow
from posts.models import Like, Post
from posts.services import posts_delete

logger = logging.getLogger(__name__)

USERNAME_TAKEN = "A user with that username already exists."


def _save_unique(user: User, **save_kwargs) -> None:
    """Save, turning a username clash that won a race past validation into a clean error."""
    try:
        with transaction.atomic():
            user.save(**save_kwargs)
    except IntegrityError as exc:
        if "username" in str(exc).lower():
            raise ValidationError({"username": [USERNAME_TAKEN]}) from exc
        raise


def user_register(
    *,
    username: str,
    password: str,
    email: str = "",
    display_name: str = "",
    role: str = Role.USER,
) -> User:
    """Create an account. The caller has checked who may grant `role`; the password has been
    validated. Usernames are unique whatever their case."""
    user = User(
        username=username,
        email=User.objects.normalize_email(email),
        display_name=display_name,
    )
    user.role = role
    user.set_password(password)
    _save_unique(user)
    logger.info("user registered", extra={"user_id": user.pk})
    return user


def user_update(*, user: User, data: dict) -> User:
    """Apply profile fields (username, email, display_name, bio)."""
    allowed = {"username", "email", "display_name", "bio"}
    fields = [name for name in data if name in allowed]
    for name in fields:
        setattr(user, name, data[name])
    if "email" in fields:
        user.email = User.objects.normalize_email(user.email)
    if fields:
        _save_unique(user, update_fields=fields)
    return user


def user_set_access(
    *, user: User, by: User, role: str | None = None, is_active: bool | None = None
) -> User:
    """Change an account's role or whether it may sign in. Only admins reach this, and none
    takes away their own access (another admin must), so the last admin cannot lock
    everyone out."""
    if user.pk == by.pk:
        if role is not None and role != Role.ADMIN:
            raise ValidationError({"role": "You cannot take away your own admin role."})
        if is_active is False:
            raise ValidationError({"is_active": "You cannot deactivate your own account."})
    if role is not None:
        user.role = role
    if is_active is not None:
        user.is_active = is_active
    with transaction.atomic():
        user.save(update_fields=["is_staff", "is_superuser", "is_active"])
        if is_active is False:
            # Signed out everywhere: reinstating the account does not revive its tokens.
            sessions_end_all(user_id=user.pk)
            _close_sockets_on_commit(user.pk)
    logger.info(
        "user access changed",
        extra={"user_id": user.pk, "role": user.role, "is_active": user.is_active},
    )
    return user


def user_delete(*, user: User) -> None:
    """Delete the account with its posts (and others' reposts of them), likes, bookmarks,
    follows, timeline and notifications, keeping every other account's and post's counts
    exact. Its tokens stop working because they name a user that no longer exists; its
    avatar file is removed once the deletion has committed."""
    avatar_name, user_id = user.avatar.name, user.pk
    with transaction.atomic():
        # Waits for fan-out pages of the account's posts being written (as for post_delete).
        author_fanout_lock(user_id, shared=False)
        posts_delete(
            post_ids=list(Post.objects.filter(author=user).values_list("id", flat=True)),
            announce=False,
        )
        Post.objects.filter(pk__in=Like.objects.filter(user=user).values("post_id")).update(
            like_count=F("like_count") - 1
        )
        User.objects.filter(
            pk__in=Follow.objects.filter(follower=user).values("followee_id")
        ).update(followers_count=F("followers_count") - 1)
        User.objects.filter(
            pk__in=Follow.objects.filter(followee=user).values("follower_id")
        ).update(following_count=F("following_count") - 1)
        user.delete()
        _close_sockets_on_commit(user_id)
        if avatar_name:
            transaction.on_commit(lambda: _delete_file_quietly(avatar_name), robust=True)


def _close_sockets_on_commit(user_id: int) -> None:
    """The account's open websockets are closed once its end has committed."""
    events.publish_on_commit("account.closed", user_id=user_id)


def _delete_file_quietly(name: str) -> None:
    try:
        default_storage.delete(name)
    except Exception:
        # The account change has committed; a stray file is only wasted space.
        logger.exception("could not delete media file", extra={"file": name})


def avatar_set(*, user: User, upload) -> User:
    """Verify and normalise the upload, store it under a fresh random name, point the account
    at it and then remove the previous file. A store failure saves nothing."""
    content = prepare_avatar(upload)
    try:
        name = default_storage.save(avatar_file_name(), content)
    except Exception as exc:
        logger.exception("avatar upload to the media store failed", extra={"user_id": user.pk})
        raise ServiceUnavailable("The media store is unavailable; nothing was saved.") from exc
    old_name = user.avatar.name
    user.avatar.name = name
    try:
        with transaction.atomic():
            user.save(update_fields=["avatar"])
    except Exception:
        _delete_file_quietly(name)
        raise
    if old_name:
        _delete_file_quietly(old_name)
    return user


def avatar_delete(*, user: User) -> None:
    """Clear the account's picture and remove its file."""
    old_name = user.avatar.name
    if not old_name:
        return
    user.avatar.name = ""
    user.save(update_fields=["avatar"])
    _delete_file_quietly(old_name)


# --- Sessions ----------------------------------------------------------------------------
# A sign-in is an AccountSession row; its id travels in the `sid` claim of the refresh
# tokens rotated from it and of every access token minted from them. Ending a session
# deletes its row (accounts.authentication refuses tokens whose row is gone), blacklists
# refresh tokens, and closes the websockets opened with it (`session.closed` and
# `sessions.closed` events). Tokens without `sid` (minted outside sign-in, or before
# sessions existed) can only be ended all together, by `User.sessions_valid_after`.

# Abandoned sessions purged per sign-in: each sign-in adds one row and removes up to this
# many expired ones, so expired rows never pile up.
SESSION_PURGE_BATCH = 100


class SessionEnded(Exception):
    """The token's session was signed out (or its account's sessions were all ended)."""


def _new_refresh(user_id: int):
    from rest_framework_simplejwt.settings import api_settings
    from rest_framework_simplejwt.tokens import RefreshToken

    refresh = RefreshToken()
    refresh[api_settings.USER_ID_CLAIM] = str(user_id)
    return refresh


def _expiry(token):
    from rest_framework_simplejwt.utils import datetime_from_epoch

    return datetime_from_epoch(token["exp"])


def _purge_expired_sessions() -> None:
    expired = list(
        AccountSession.objects.filter(expires_at__lt=timezone.now()).values_list("pk", flat=True)[
            :SESSION_PURGE_BATCH
        ]
    )
    if expired:
        AccountSession.objects.filter(pk__in=expired).delete()


@transaction.atomic
def session_start(*, user: User):
    """Sign `user` in: a new session, and its first refresh token (with `sid`, outstanding
    for the blacklist). Purges a batch of expired sessions on the way."""
    _purge_expired_sessions()
    refresh = _new_refresh(user.pk)
    session = AccountSession.objects.create(
        user=user, refresh_jti=refresh["jti"], expires_at=_expiry(refresh)
    )
    refresh[SESSION_CLAIM] = session.pk
    refresh.outstand()
    return refresh


@transaction.atomic
def session_refresh(*, refresh) -> dict:
    """Rotate a validated refresh token: blacklist it and return `{"access", "refresh"}`
    from the same session. Raises SessionEnded when the session was signed out (or, for a
    token without a session, when all sessions were ended after it was issued) and
    User.DoesNotExist when the account is gone. A token without a session is given one, so
    tokens issued before sessions existed join them at their next refresh."""
    from rest_framework_simplejwt.settings import api_settings

    user = User.objects.get(pk=refresh[api_settings.USER_ID_CLAIM])
    if not user.is_active:
        raise SessionEnded("The account is inactive.")
    try:
        sid = AccountSession.id_of(refresh)
    except ValueError as exc:
        raise SessionEnded(str(exc)) from exc
    if sid is None and not user.accepts_sessionless_token(refresh):
        raise SessionEnded("The token was signed out.")
    refresh.blacklist()
    refresh.set_jti()
    refresh.set_exp()
    refresh.set_iat()
    if sid is None:
        session = AccountSession.objects.create(
            user=user, refresh_jti=refresh["jti"], expires_at=_expiry(refresh)
        )
        refresh[SESSION_CLAIM] = session.pk
    elif not AccountSession.objects.filter(pk=sid, user=user).update(
        refresh_jti=refresh["jti"], expires_at=_expiry(refresh)
    ):
        raise SessionEnded("The session was signed out.")
    refresh.outstand()
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def _blacklist_refresh_tokens(*, user_id: int, keep_jti: str | None = None) -> None:
    """Blacklist the account's unexpired refresh tokens (but `keep_jti`)."""
    from rest_framework_simplejwt.token_blacklist.models import (
        BlacklistedToken,
        OutstandingToken,
    )

    outstanding = OutstandingToken.objects.filter(
        user_id=user_id, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    if keep_jti is not None:
        outstanding = outstanding.exclude(jti=keep_jti)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token_id=pk) for pk in outstanding.values_list("pk", flat=True)],
        ignore_conflicts=True,
    )


def session_end(*, user_id: int, session_id: int | None) -> None:
    """End one session: its access and refresh tokens are refused from the commit on, and
    its websockets are closed wherever they are. `None` stands for the account's tokens
    without a session, which can only end together."""
    with transaction.atomic():
        if session_id is None:
            User.objects.filter(pk=user_id).update(sessions_valid_after=timezone.now())
        else:
            AccountSession.objects.filter(pk=session_id, user_id=user_id).delete()
        events.publish_on_commit("session.closed", user_id=user_id, session_id=session_id or 0)
    logger.info("session ended", extra={"user_id": user_id, "session_id": session_id})


def web_session_ended(*, user_id: int, session_key: str) -> None:
    """A browser session (the web client's sign-in, `accounts.sessions`) was signed out
    and its row deleted: the websockets it opened are closed wherever they are."""
    from accounts.sessions import session_number

    number = session_number(session_key)
    if number:
        events.publish_on_commit("web_session.closed", user_id=user_id, web_session=number)
    logger.info("web session ended", extra={"user_id": user_id})


def sessions_end_all(*, user_id: int, keep_session_id: int | None = None) -> None:
    """End every session of the account but `keep_session_id` (when given): their access
    and refresh tokens are refused and their websockets closed. Tokens without a session
    all end too."""
    with transaction.atomic():
        sessions = AccountSession.objects.filter(user_id=user_id)
        keep_jti = None
        if keep_session_id is not None:
            keep_jti = (
                sessions.filter(pk=keep_session_id).values_list("refresh_jti", flat=True).first()
            )
            sessions = sessions.exclude(pk=keep_session_id)
        sessions.delete()
        User.objects.filter(pk=user_id).update(sessions_valid_after=timezone.now())
        _blacklist_refresh_tokens(user_id=user_id, keep_jti=keep_jti)
        events.publish_on_commit(
            "sessions.closed", user_id=user_id, keep_session_id=keep_session_id or 0
        )
    logger.info("sessions ended", extra={"user_id": user_id, "kept": keep_session_id})


@transaction.atomic
def sign_out(*, refresh=None, access=None, everywhere: bool = False) -> None:
    """Sign out the sessions of a validated refresh token and of a validated access token
    (either may be None, not both): the refresh token is blacklisted, and both sessions
    end, or with `everywhere` every session of their account. Tokens of two accounts are
    refused (ValidationError)."""
    from rest_framework_simplejwt.settings import api_settings

    ending: dict[int, set[int | None]] = {}  # account -> sessions (None: tokens of none)
    for token in (refresh, access):
        if token is not None:
            try:
                user_id = int(token[api_settings.USER_ID_CLAIM])
                session_id = AccountSession.id_of(token)
            except (KeyError, TypeError, ValueError) as exc:
                raise ValidationError("The token names no account or session.") from exc
            ending.setdefault(user_id, set()).add(session_id)
    if len(ending) != 1:
        raise ValidationError("The tokens belong to different accounts.")
    [(user_id, sessions)] = ending.items()
    if refresh is not None:
        refresh.blacklist()
    if everywhere:
        sessions_end_all(user_id=user_id)
    else:
        for session_id in sessions:
            session_end(user_id=user_id, session_id=session_id)


def user_change_password(
    *, user: User, new_password: str, keep_session_id: int | None = None
) -> None:
    """Set a new (validated) password and end every other session of the account; the
    session `keep_session_id`, the caller's, goes on."""
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        sessions_end_all(user_id=user.pk, keep_session_id=keep_session_id)
    logger.info("password changed", extra={"user_id": user.pk})
