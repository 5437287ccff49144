"""Reads of the notification inbox."""

import functools
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import BigIntegerField, Case, Count, F, Max, Q, QuerySet, When, Window
from django.db.models.functions import RowNumber

from accounts.models import User
from follows.models import Block
from follows.selectors import hide_blocked
from notifications.models import Notification
from posts.models import Post
from posts.selectors import (
    PostRow,
    PostRows,
    Source,
    post_columns,
    post_joins,
    post_row,
    with_flags,
)

Type = Notification.Type
# Types that never group: each is a group of one.
SINGLE_TYPES = [Type.POST_CREATED, Type.FOLLOW_CREATED]
GROUP_ACTORS = 3
# How far below `since` a replay looks for notifications that committed after it: the
# user's newest rows below it. One still missing would need this many newer ones written for
# the same user while its transaction ran.
LATE_WINDOW = 1000


def with_payload(queryset: QuerySet[Notification]) -> QuerySet[Notification]:
    """Everything the serializer needs, in the same query: the post with its author (and a
    repost's original), and the actor (counts are columns)."""
    return queryset.select_related(
        "actor",
        "post__author",
        "post__reply_to_author",
        "post__repost_of__author",
        "post__repost_of__reply_to_author",
    )


def inbox(user: User) -> QuerySet[Notification]:
    """The user's notifications that may be shown: none from a suspended account (they come
    back when it is reinstated) nor across a block."""
    return hide_blocked(
        Notification.objects.filter(recipient=user, actor__is_active=True),
        viewer=user,
        field="actor",
    )


def since_filter(*, user: User, since: int) -> Q:
    """What a client that has seen notification `since` has not: the notifications with a
    larger id, and those with a smaller one that committed after it did (`late_ids`)."""
    newer = Q(id__gt=since)
    late = late_ids(user=user, since=since)
    return newer | Q(id__in=late) if late else newer


def late_ids(*, user: User, since: int) -> list[int]:
    """The ids below `since` of the user's notifications that may have committed after
    `since` did, oldest first (almost always none).

    Ids are taken at insert, so two writers can commit out of id order; a row that commits
    after `since` comes from a transaction that was still running when `since` was written,
    whose id is at least `since`'s horizon (models.Notification.txid). Rows of the
    transaction that wrote `since` committed with it. A row that did commit before may come
    again: clients de-duplicate by id, as for any redelivery. Only the user's newest
    `LATE_WINDOW` rows below `since` are looked at, newest first by the inbox index, which
    carries their `txid` and `horizon` (an index-only scan: no table row is read), and one
    statement filters them, so the inbox's own query keeps its plan."""
    if connection.vendor != "postgresql":
        return []
    table = connection.ops.quote_name(Notification._meta.db_table)
    with connection.cursor() as cursor:
        # `seen`: `since` itself, or the user's newest row below it if it was deleted (an
        # earlier horizon: a wider net). Its own transaction is excluded only when found.
        cursor.execute(
            f"WITH seen AS (SELECT id, txid, horizon FROM {table} "  # noqa: S608 - no input
            "WHERE recipient_id = %s AND id <= %s AND horizon IS NOT NULL "
            "ORDER BY id DESC LIMIT 1), "
            f"recent AS (SELECT id, txid FROM {table} "
            f"WHERE recipient_id = %s AND id < %s ORDER BY id DESC LIMIT {LATE_WINDOW:d}) "
            "SELECT recent.id FROM recent, seen WHERE recent.txid >= seen.horizon "
            "AND (seen.id <> %s OR recent.txid <> seen.txid) ORDER BY recent.id",
            [user.pk, since, user.pk, since, since],
        )
        return [row[0] for row in cursor.fetchall()]


class Actor(NamedTuple):
    """Who did what a notification tells: the public columns of the account."""

    id: int
    username: str
    display_name: str
    bio: str
    avatar: str
    followers_count: int
    following_count: int
    posts_count: int
    date_joined: datetime

    @classmethod
    def of(cls, user: User) -> "Actor":
        return cls(
            user.pk,
            user.username,
            user.display_name,
            user.bio,
            user.avatar.name,
            user.followers_count,
            user.following_count,
            user.posts_count,
            user.date_joined,
        )

    def as_user(self) -> User:
        """An unsaved account with these columns, for serializers of accounts."""
        return User(**self._asdict())


_ACTOR_FIELDS = Actor._fields


class NotificationRow(NamedTuple):
    """A notification with what its rendering needs, whether it came from the ORM or from
    the inbox's own SQL (`InboxRows`): notifications.serializers renders both alike."""

    id: int
    type: str
    created_at: datetime
    read: bool
    actor: Actor
    post: PostRow | None

    @classmethod
    def of(cls, notification: Notification) -> "NotificationRow":
        """From a Notification fetched `with_payload` (no further queries)."""
        post = PostRow.of(notification.post) if notification.post_id else None
        return cls(
            notification.pk,
            notification.type,
            notification.created_at,
            notification.read,
            Actor.of(notification.actor),
            post,
        )


class InboxRows(PostRows):
    """A page of the inbox in one fixed statement (PostgreSQL): the notifications with their
    actors and posts, and what the recipient did to those posts, as `PostRows` reads a list
    of posts. The ORM's query joined nine tables, compiled anew and built up to six model
    instances a row on every request, then `viewer_flags` read the flags in a second one.
    The rows answer as `with_payload`'s (the golden responses, posts/tests/test_golden.py)."""

    def sql(self, bound: str, limit: int, flags: bool) -> str:
        return _inbox_statement(self.source, bound, self.descending, limit)

    def read_row(self, values: tuple[Any, ...]) -> NotificationRow:
        post = post_row(values, _POSTS_AT) if values[_POSTS_AT] is not None else None
        return NotificationRow(*values[:4], Actor(*values[4:_POSTS_AT]), post)


_POSTS_AT = 4 + len(_ACTOR_FIELDS)


@functools.lru_cache(maxsize=256)
def _inbox_statement(source: Source, bound: str, descending: bool, limit: int) -> str:
    """The page's notifications, their actors' columns, their posts' (`post_columns`, null
    for a follow), then the recipient's flags; the limit written into the text, as
    posts.selectors' lists do.

    The notifications (with their actors, which decide what is shown) are limited first,
    in a subquery, and only the page's are joined to their posts: PostgreSQL plans the two
    parts apart, in half the time (a websocket replay's statement is planned on every
    execution: 2.9 -> 1.5 ms for a reconnect's page), and no longer joins posts to every
    notification it sorts (docs/benchmarks.md, "Ninth run")."""
    qn = connection.ops.quote_name
    direction = "DESC" if descending else "ASC"
    actor = ", ".join(f"a.{qn(field)} AS a_{field}" for field in _ACTOR_FIELDS)
    notifications = (
        f"SELECT n.id, n.type, n.created_at, n.read, n.post_id, {actor} "  # noqa: S608
        f"FROM {source.tables} "
        f"WHERE ({source.where}) {bound} ORDER BY {source.key} {direction} LIMIT {limit:d}"
    )
    page = (
        f"SELECT n.id, n.type, n.created_at, n.read, "  # noqa: S608
        f"{', '.join(f'n.a_{field}' for field in _ACTOR_FIELDS)}, {post_columns()}, "
        f"COALESCE(o.id, p.id) AS flagged, n.id AS page_key "
        f"FROM ({notifications}) n "
        f"LEFT JOIN {qn(Post._meta.db_table)} p ON p.id = n.post_id {post_joins('LEFT JOIN')} "
        f"ORDER BY n.id {direction}"
    )
    return with_flags(page, direction)


@functools.lru_cache(maxsize=8)
def _inbox_source(unread: bool, since: bool) -> Source:
    """`inbox()`'s rows in SQL: the recipient's (the first `%s`), from active actors, across
    no block (the recipient's id twice more); only unread ones, or only those
    `since_filter` lets through (the id `since`, then the array of late ids)."""
    qn = connection.ops.quote_name
    blocks = qn(Block._meta.db_table)
    where = (
        "n.recipient_id = %s AND a.is_active "  # noqa: S608 - no input in the text
        f"AND NOT (n.actor_id IN (SELECT b.blocked_id FROM {blocks} b WHERE b.blocker_id = %s)) "
        f"AND NOT (n.actor_id IN (SELECT b.blocker_id FROM {blocks} b WHERE b.blocked_id = %s))"
    )
    if since:
        where += " AND (n.id > %s OR n.id = ANY(%s))"
    if unread:
        where += " AND NOT n.read"
    return Source(
        tables=f"{qn(Notification._meta.db_table)} n "
        f"JOIN {qn(User._meta.db_table)} a ON a.id = n.actor_id",
        where=where,
        key="n.id",
        field="id",
    )


def _inbox_rows(user: User, *, since: int | None = None, unread: bool = False) -> InboxRows:
    """The user's inbox as `InboxRows` (PostgreSQL), filtered as `notifications_for` says."""
    params: tuple = (user.pk, user.pk, user.pk)
    if since is not None:
        params += (since, late_ids(user=user, since=since))
    return InboxRows(_inbox_source(unread, since is not None), params, viewer_id=user.pk)


def notifications_for(
    *, user: User, since: int | None = None, unread: bool = False
) -> "QuerySet[Notification] | InboxRows":
    """The user's notifications, newest first; only those a client that has seen `since`
    has not (`since_filter`), or only unread. On PostgreSQL an `InboxRows` (one statement a
    page), elsewhere the queryset."""
    if connection.vendor == "postgresql":
        return _inbox_rows(user, since=since, unread=unread)
    queryset = inbox(user)
    if since is not None:
        queryset = queryset.filter(since_filter(user=user, since=since))
    if unread:
        queryset = queryset.filter(read=False)
    return with_payload(queryset).order_by("-id")


def notifications_after(
    *, user: User, after: int, limit: int
) -> "list[Notification] | list[NotificationRow]":
    """Up to `limit` notifications with id > `after`, oldest first (websocket replay); on
    PostgreSQL read by `InboxRows`."""
    if connection.vendor == "postgresql":
        return _inbox_rows(user).order_by("id").filter(id__gt=after)[:limit]
    queryset = inbox(user).filter(id__gt=after).order_by("id")
    return list(with_payload(queryset)[:limit])


def notifications_late(*, user: User, since: int) -> list[Notification]:
    """The notifications with an id below `since` that may have committed after it, oldest
    first: what a replay from `since` sends before those with a larger id."""
    late = late_ids(user=user, since=since)
    if not late:
        return []
    return list(with_payload(inbox(user).filter(id__in=late).order_by("id")))


def unread_count(*, user: User) -> int:
    return inbox(user).filter(read=False).count()


def notification_groups(*, user: User) -> QuerySet:
    """The inbox grouped: one row per (type, post) for the types that group, one per
    notification for the others, as dicts `{type, group_post, latest_id, count, latest_at,
    unread_count}`, newest group first (by `latest_id`, the cursor key)."""
    return (
        inbox(user)
        .annotate(
            group_post=Case(
                When(type__in=SINGLE_TYPES, then=-F("id")),
                default=F("post_id"),
                output_field=BigIntegerField(),
            )
        )
        .values("type", "group_post")
        .annotate(
            latest_id=Max("id"),
            count=Count("id"),
            latest_at=Max("created_at"),
            unread_count=Count("id", filter=Q(read=False)),
        )
        .order_by("-latest_id")
    )


def group_details(*, user: User, groups: list[dict]) -> tuple[dict, dict]:
    """For a page of groups: each group's newest notification (with its payload), by id, and
    the newest GROUP_ACTORS notifications of each group of more than one, by (type, post).
    Two queries, whatever the page size."""
    latest = {
        n.pk: n
        for n in with_payload(
            Notification.objects.filter(pk__in=[group["latest_id"] for group in groups])
        )
    }
    shared = Q()
    for group in groups:
        if group["count"] > 1:
            shared |= Q(type=group["type"], post_id=group["group_post"])
    actors: dict[tuple, list] = {}
    if shared:
        ranked = (
            Notification.objects.filter(shared, recipient=user)
            .annotate(
                rank=Window(
                    RowNumber(), partition_by=[F("type"), F("post_id")], order_by=F("id").desc()
                )
            )
            .filter(rank__lte=GROUP_ACTORS)
            .select_related("actor")
            .order_by("-id")
        )
        for notification in ranked:
            actors.setdefault((notification.type, notification.post_id), []).append(
                notification.actor
            )
    return latest, actors
