"""Fan-out: one message in, rows and live events out. The same code runs in the RabbitMQ
worker (production) and in-process after commit (embedded mode).

A `post.created` message walks the author's followers in batches. Per batch, one
transaction inserts the timeline entries and the `post.created` notifications with
INSERT ... SELECT over the follows index (no rows travel through Python) and ON CONFLICT DO
NOTHING, so a redelivered message changes nothing; then each recipient's event goes to its
channel-layer group. The caller acknowledges the message only after everything returned.
"""

import asyncio
import logging
import time
from datetime import datetime

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.selectors import user_with_counts
from accounts.serializers import UserPublicSerializer
from follows.models import Follow
from notifications import events
from notifications.models import Notification
from posts.models import Post, TimelineEntry
from posts.serializers import PostSerializer
from posts.services import timeline_trim

logger = logging.getLogger("warble.fanout")

SEND_CHUNK = 1000


class InvalidMessage(ValueError):
    """A message that can never be processed (dropped, not retried)."""


async def handle_message(message: dict) -> dict:
    """Process one transport message; return what was done (for the log)."""
    if not isinstance(message, dict):
        raise InvalidMessage("message is not an object")
    kind = message.get("type", "post.created")
    try:
        if kind == "post.created":
            return await fanout_post(int(message["post_id"]))
        if kind == "post.deleted":
            return await broadcast_post_deleted(int(message["post_id"]), int(message["author_id"]))
        if kind == "follow.created":
            return await deliver_follow_notification(int(message["notification_id"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidMessage(f"malformed {kind!r} message: {exc}") from exc
    raise InvalidMessage(f"unknown message type {kind!r}")


# --- post.created ------------------------------------------------------------------------


def _post_snapshot(post_id: int) -> tuple[Post, dict] | None:
    post = Post.objects.select_related("author").filter(pk=post_id).first()
    if post is None:
        return None
    return post, PostSerializer(post).data


def _fanout_batch(
    post_id: int, author_id: int, posted_at: datetime, after: int, size: int
) -> tuple[int | None, list[tuple[int, int, datetime]]]:
    """Fill one batch of followers (follow ids after `after`); return the last follow id and
    `(notification id, recipient id, created_at)` for every recipient of the batch."""
    batch = list(
        Follow.objects.filter(followee_id=author_id, id__gt=after, created_at__lte=posted_at)
        .order_by("id")
        .values_list("id", "follower_id")[:size]
    )
    if not batch:
        return None, []
    first_id, last_id = batch[0][0], batch[-1][0]
    recipients = [follower_id for _, follower_id in batch]
    qn = connection.ops.quote_name
    follows = qn(Follow._meta.db_table)
    # The same range predicate selects the batch's followers in both statements.
    where = "WHERE f.followee_id = %s AND f.id >= %s AND f.id <= %s AND f.created_at <= %s"
    params = [author_id, first_id, last_id, posted_at]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(TimelineEntry._meta.db_table)} (user_id, post_id) "  # noqa: S608
            f"SELECT f.follower_id, %s FROM {follows} f {where} ON CONFLICT DO NOTHING",
            [post_id, *params],
        )
        cursor.execute(
            f"INSERT INTO {qn(Notification._meta.db_table)} "  # noqa: S608
            "(recipient_id, type, actor_id, post_id, created_at, read) "
            f"SELECT f.follower_id, %s, %s, %s, %s, %s FROM {follows} f {where} "
            "ON CONFLICT DO NOTHING",
            [Notification.Type.POST_CREATED, author_id, post_id, timezone.now(), False, *params],
        )
        rows = list(
            Notification.objects.filter(post_id=post_id, recipient_id__in=recipients).values_list(
                "id", "recipient_id", "created_at"
            )
        )
        # Trimming is spread out: each recipient's timeline is trimmed on about one post in
        # TIMELINE_TRIM_EVERY it receives, which keeps it near the cap at a small cost.
        every = settings.TIMELINE_TRIM_EVERY
        timeline_trim(user_ids=[r for r in recipients if (r + post_id) % every == 0])
    return last_id, rows


async def fanout_post(post_id: int) -> dict:
    started = time.perf_counter()
    snapshot = await database_sync_to_async(_post_snapshot)(post_id)
    if snapshot is None:
        logger.info("fan-out skipped: post is gone", extra={"post_id": post_id})
        return {"post_id": post_id, "recipients": 0, "skipped": True}
    post, payload = snapshot
    after, recipients, delivered = 0, 0, 0
    while True:
        after, rows = await database_sync_to_async(_fanout_batch)(
            post.pk, post.author_id, post.created_at, after, settings.FANOUT_BATCH_SIZE
        )
        if after is None:
            break
        recipients += len(rows)
        delivered += await send_events(
            (
                events.user_group(recipient_id),
                events.post_created(
                    notification_id=notification_id, created_at=created_at, post=payload
                ),
            )
            for notification_id, recipient_id, created_at in rows
        )
    stats = {
        "post_id": post_id,
        "recipients": recipients,
        "events_sent": delivered,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    logger.info("fan-out done", extra=stats)
    return stats


# --- post.deleted ------------------------------------------------------------------------


def _follower_ids(author_id: int, after: int, size: int) -> list[tuple[int, int]]:
    return list(
        Follow.objects.filter(followee_id=author_id, id__gt=after)
        .order_by("id")
        .values_list("id", "follower_id")[:size]
    )


async def broadcast_post_deleted(post_id: int, author_id: int) -> dict:
    """Tell the author and their followers' sockets that a post is gone."""
    event = events.post_deleted(post_id=post_id)
    sent = await send_events([(events.user_group(author_id), event)])
    after = 0
    while batch := await database_sync_to_async(_follower_ids)(
        author_id, after, settings.FANOUT_BATCH_SIZE
    ):
        after = batch[-1][0]
        sent += await send_events((events.user_group(f), event) for _, f in batch)
    stats = {"post_id": post_id, "events_sent": sent}
    logger.info("post.deleted sent", extra=stats)
    return stats


# --- follow.created ----------------------------------------------------------------------


def _follow_event(notification_id: int) -> tuple[int, dict] | None:
    notification = Notification.objects.filter(
        pk=notification_id, type=Notification.Type.FOLLOW_CREATED
    ).first()
    if notification is None:
        return None
    follower = UserPublicSerializer(user_with_counts(user=notification.actor)).data
    return notification.recipient_id, events.follow_created(
        notification_id=notification.pk, created_at=notification.created_at, follower=follower
    )


async def deliver_follow_notification(notification_id: int) -> dict:
    found = await database_sync_to_async(_follow_event)(notification_id)
    if found is None:
        return {"notification_id": notification_id, "events_sent": 0}
    recipient_id, event = found
    sent = await send_events([(events.user_group(recipient_id), event)])
    return {"notification_id": notification_id, "events_sent": sent}


# --- sending -----------------------------------------------------------------------------


async def send_events(pairs) -> int:
    """group_send each `(group, event)`, concurrently and with a timeout; return how many the
    layer accepted. A failed send is logged, not raised: the notification is persisted and
    clients recover it with `since` replay."""
    layer = get_channel_layer()
    pairs = list(pairs)
    accepted = 0
    for start in range(0, len(pairs), SEND_CHUNK):
        chunk = pairs[start : start + SEND_CHUNK]
        results = await asyncio.gather(
            *(
                asyncio.wait_for(layer.group_send(group, event), settings.PUBLISH_TIMEOUT)
                for group, event in chunk
            ),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        accepted += len(chunk) - len(failures)
        if failures:
            logger.warning(
                "live events not sent",
                extra={"failed": len(failures), "error": repr(failures[0])},
            )
    return accepted
