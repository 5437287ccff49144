"""Reads of the notification inbox."""

from django.db import connection
from django.db.models import BigIntegerField, Case, Count, F, Max, Q, QuerySet, When, Window
from django.db.models.functions import RowNumber

from accounts.models import User
from follows.selectors import hide_blocked
from notifications.models import Notification

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
    `LATE_WINDOW` rows below `since` are looked at, newest first by the (recipient, -id)
    index, and one statement filters them, so the inbox's own query keeps its plan."""
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


def notifications_for(
    *, user: User, since: int | None = None, unread: bool = False
) -> QuerySet[Notification]:
    """The user's notifications, newest first; only those a client that has seen `since`
    has not (`since_filter`), or only unread."""
    queryset = inbox(user)
    if since is not None:
        queryset = queryset.filter(since_filter(user=user, since=since))
    if unread:
        queryset = queryset.filter(read=False)
    return with_payload(queryset).order_by("-id")


def notifications_after(*, user: User, after: int, limit: int) -> list[Notification]:
    """Up to `limit` notifications with id > `after`, oldest first (websocket replay)."""
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
