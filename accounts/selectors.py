"""Reads of accounts. Counts are columns kept exact by the services that change them, so a
profile or a page of users costs one query whatever the numbers."""

import functools

from django.db import connection
from django.db.models import QuerySet

from accounts import authentication
from accounts.models import User


def visible_users(viewer: User | None = None) -> QuerySet[User]:
    """Active accounts, less those that block `viewer` (to whom they answer 404)."""
    users = User.objects.filter(is_active=True)
    if viewer is not None and viewer.is_authenticated:
        users = users.exclude(blocks_made__blocked=viewer)
    return users


def user_profile(*, username: str, viewer: User | None = None) -> User | None:
    """The active user with that username (any case), unless they block `viewer`; None
    when unknown."""
    if connection.vendor != "postgresql":
        return visible_users(viewer).by_username(username).first()
    # One fixed statement, the account's state read with it (CheckAhead): the ORM compiled
    # the query anew on every request, and the state took a statement of its own.
    signed_in = viewer is not None and viewer.is_authenticated
    params = [username.lower(), viewer.pk] if signed_in else [username.lower()]
    rows = authentication.fetch_ahead(_profile_sql(signed_in), params, "q.id")
    return User.from_db(connection.alias, authentication.ACCOUNT_FIELDS, rows[0]) if rows else None


@functools.cache
def _profile_sql(signed_in: bool) -> str:
    """`visible_users(viewer).by_username(...)` as fixed SQL: the lower-cased username, and
    for a signed-in viewer their id (an account that blocks them is not found)."""
    qn = connection.ops.quote_name
    columns = ", ".join(f"u.{qn(field.column)}" for field in User._meta.concrete_fields)
    blocks = qn(User._meta.get_field("blocks_made").related_model._meta.db_table)
    sql = (
        f"SELECT {columns} FROM {qn(User._meta.db_table)} u "  # noqa: S608 - no input
        "WHERE LOWER(u.username) = %s AND u.is_active"
    )
    if signed_in:
        sql += (
            f" AND NOT (u.id IN (SELECT b.blocker_id FROM {blocks} b "  # noqa: S608 - no input
            "WHERE b.blocked_id = %s))"
        )
    return sql + " LIMIT 1"


def user_active(*, username: str) -> User | None:
    """The active account with that username (any case), whoever asks: the other end of a
    follow, block or mute, which a block between the two does not hide."""
    return User.objects.active_by_username(username).first()


def user_with_counts(*, user: User) -> User:
    """The account as stored now (its counts may have changed since `user` was read)."""
    return User.objects.get(pk=user.pk)


def user_list() -> QuerySet[User]:
    """Every account, active or not, newest first (the admin list)."""
    return User.objects.order_by("-id")


def user_for_admin(*, username: str) -> User | None:
    """Any account with that username (any case), active or not."""
    return User.objects.by_username(username).first()


def user_exists(*, username: str, viewer: User | None = None) -> bool:
    return visible_users(viewer).by_username(username).exists()
