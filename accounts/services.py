"""Writes to accounts: registration, profile edits, access changes, avatars, deletion."""

import logging

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F

from accounts.images import avatar_file_name, prepare_avatar
from accounts.models import Role, User
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
