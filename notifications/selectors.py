"""Reads of the notification inbox."""

from django.db.models import BigIntegerField, Case, Count, F, Max, Q, QuerySet, When, Window
from django.db.models.functions import RowNumber

from accounts.models import User
from follows.selectors import hide_blocked
from notifications.models import Notification

Type = Notification.Type
# Types that never group: each is a group of one.
SINGLE_TYPES = [Type.POST_CREATED, Type.FOLLOW_CREATED]
GROUP_ACTORS = 3


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


def notifications_for(
    *, user: User, since: int | None = None, unread: bool = False
) -> QuerySet[Notification]:
    """The user's notifications, newest first; only those after `since`, or only unread."""
    queryset = inbox(user)
    if since is not None:
        queryset = queryset.filter(id__gt=since)
    if unread:
        queryset = queryset.filter(read=False)
    return with_payload(queryset).order_by("-id")


def notifications_after(*, user: User, after: int, limit: int) -> list[Notification]:
    """Up to `limit` notifications with id > `after`, oldest first (websocket replay)."""
    queryset = inbox(user).filter(id__gt=after).order_by("id")
    return list(with_payload(queryset)[:limit])


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
