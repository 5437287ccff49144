"""Fan-out: one message in, rows and live events out. The same code runs in the RabbitMQ
worker (production) and in-process after commit (embedded mode).

A `post.created` message walks the author's followers in batches. Per batch, one
transaction inserts the timeline entries and the `post.created` notifications with
INSERT ... SELECT over the follows index (no rows travel through Python) and ON CONFLICT DO
NOTHING, so a redelivered message changes nothing; then one live message carries the
batch's notifications to the websocket processes (notifications.live) while the next batch
is written. The caller acknowledges the message only after everything returned.
"""

import asyncio
import logging
import time
from datetime import datetime

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.selectors import user_with_counts
from accounts.serializers import UserPublicSerializer
from common import events
from common.locks import author_fanout_lock
from follows.models import Follow
from notifications import live
from notifications.models import Notification
from posts.models import Post, TimelineEntry
from posts.serializers import PostSerializer, timestamp
from posts.services import timeline_trim

logger = logging.getLogger("warble.fanout")


# --- post.created ------------------------------------------------------------------------


def _post_snapshot(post_id: int) -> tuple[Post, dict] | None:
    post = Post.objects.select_related("author").filter(pk=post_id).first()
    if post is None:
        return None
    return post, PostSerializer(post).data


def _follower_page(
    author_id: int, posted_at: datetime | None, after: int, size: int
) -> list[tuple[int, int]]:
    """The next `(follow id, follower id)` page of the author's followers (those who already
    followed at `posted_at`, when given)."""
    follows = Follow.objects.filter(followee_id=author_id, id__gt=after)
    if posted_at is not None:
        follows = follows.filter(created_at__lte=posted_at)
    return list(follows.order_by("id").values_list("id", "follower_id")[:size])


def _fanout_batch(
    post_id: int, author_id: int, posted_at: datetime, batch: list[tuple[int, int]]
) -> tuple[list[tuple[int, int]], datetime]:
    """Fill the timelines and inboxes of one page of followers in one transaction; return
    `(notification id, recipient id)` for every recipient, and the notifications' time."""
    first_id, last_id = batch[0][0], batch[-1][0]
    recipients = [follower_id for _, follower_id in batch]
    qn = connection.ops.quote_name
    follows = qn(Follow._meta.db_table)
    # The same range predicate selects the batch's followers in both statements.
    where = "WHERE f.followee_id = %s AND f.id >= %s AND f.id <= %s AND f.created_at <= %s"
    params = [author_id, first_id, last_id, posted_at]
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        author_fanout_lock(author_id, shared=True)
        # Deleting the post (or its author) takes the lock exclusively, so a post seen here
        # stays until this page commits, and the deletion then removes what it wrote.
        if not Post.objects.filter(pk=post_id).exists():
            return [], now
        cursor.execute(
            f"INSERT INTO {qn(TimelineEntry._meta.db_table)} (user_id, post_id) "  # noqa: S608
            f"SELECT f.follower_id, %s FROM {follows} f {where} ON CONFLICT DO NOTHING",
            [post_id, *params],
        )
        cursor.execute(
            f"INSERT INTO {qn(Notification._meta.db_table)} "  # noqa: S608
            "(recipient_id, type, actor_id, post_id, created_at, read) "
            f"SELECT f.follower_id, %s, %s, %s, %s, %s FROM {follows} f {where} "
            "ON CONFLICT DO NOTHING RETURNING id, recipient_id",
            [Notification.Type.POST_CREATED, author_id, post_id, now, False, *params],
        )
        rows = cursor.fetchall()
        if len(rows) < len(recipients):
            # A redelivered message: some rows existed already; their events go out again.
            existing = Notification.objects.filter(post_id=post_id, recipient_id__in=recipients)
            rows = list(existing.values_list("id", "recipient_id"))
            now = existing.values_list("created_at", flat=True).first() or now
        # Trimming is spread out: each recipient's timeline is trimmed on about one post in
        # TIMELINE_TRIM_EVERY it receives, which keeps it near the cap at a small cost.
        every = settings.TIMELINE_TRIM_EVERY
        timeline_trim(user_ids=[r for r in recipients if (r + post_id) % every == 0])
    return rows, now


@events.register("post.created", "post_id")
async def fanout_post(post_id: int) -> dict:
    started = time.perf_counter()
    snapshot = await database_sync_to_async(_post_snapshot)(post_id)
    if snapshot is None:
        logger.info("fan-out skipped: post is gone", extra={"post_id": post_id})
        return {"post_id": post_id, "recipients": 0, "skipped": True}
    post, payload = snapshot
    # Pages are written by FANOUT_WRITERS transactions at once (each on its own connection),
    # and each page's live message goes out as soon as its rows are committed.
    writers = asyncio.Semaphore(settings.FANOUT_WRITERS)
    write = database_sync_to_async(_fanout_batch, thread_sensitive=False)

    async def write_page(page) -> tuple[int, bool]:
        try:
            rows, created_at = await write(post.pk, post.author_id, post.created_at, page)
        finally:
            writers.release()
        if not rows:  # the post was deleted meanwhile: nobody to tell
            return 0, False
        message = live.post_created(
            post=payload,
            created_at=timestamp(created_at),
            recipients=[[recipient, notification] for notification, recipient in rows],
        )
        return len(rows), await live.send(message)

    pages, after = [], 0
    while page := await database_sync_to_async(_follower_page)(
        post.author_id, post.created_at, after, settings.FANOUT_BATCH_SIZE
    ):
        after = page[-1][0]
        await writers.acquire()
        pages.append(asyncio.create_task(write_page(page)))
    results = await asyncio.gather(*pages)
    recipients = sum(count for count, _ in results)
    sent = sum(ok for _, ok in results)
    # The author's own timeline grows by their posts: trimmed on the same schedule.
    if (post.author_id + post.pk) % settings.TIMELINE_TRIM_EVERY == 0:
        await database_sync_to_async(timeline_trim)(user_ids=[post.author_id])
    stats = {
        "post_id": post_id,
        "recipients": recipients,
        "live_batches": len(pages),
        "live_batches_sent": sent,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    logger.info("fan-out done", extra=stats)
    return stats


# --- post.deleted ------------------------------------------------------------------------


@events.register("post.deleted", "post_id", "author_id")
async def broadcast_post_deleted(post_id: int, author_id: int) -> dict:
    """Tell the author's and their followers' sockets that a post is gone."""
    batches = [[author_id]]
    after = 0
    while batch := await database_sync_to_async(_follower_page)(
        author_id, None, after, settings.FANOUT_BATCH_SIZE
    ):
        after = batch[-1][0]
        batches.append([follower_id for _, follower_id in batch])
    results = await asyncio.gather(
        *(live.send(live.post_deleted(post_id=post_id, recipients=ids)) for ids in batches)
    )
    stats = {"post_id": post_id, "live_batches": len(batches), "live_batches_sent": sum(results)}
    logger.info("post.deleted sent", extra=stats)
    return stats


# --- follow.created ----------------------------------------------------------------------


def _follow_event(notification_id: int) -> dict | None:
    notification = (
        Notification.objects.select_related("actor")
        .filter(pk=notification_id, type=Notification.Type.FOLLOW_CREATED)
        .first()
    )
    if notification is None:
        return None
    return live.follow_created(
        follower=UserPublicSerializer(user_with_counts(user=notification.actor)).data,
        created_at=timestamp(notification.created_at),
        recipient=notification.recipient_id,
        notification_id=notification.pk,
    )


@events.register("follow.created", "notification_id")
async def deliver_follow_notification(notification_id: int) -> dict:
    message = await database_sync_to_async(_follow_event)(notification_id)
    sent = await live.send(message) if message is not None else False
    return {"notification_id": notification_id, "live_batches_sent": int(sent)}


# --- account.closed ----------------------------------------------------------------------


@events.register("account.closed", "user_id")
async def close_account_sockets(user_id: int) -> dict:
    """A deleted or deactivated account's open websockets are closed, wherever they are."""
    sent = await live.send(live.account_closed(user_id=user_id))
    stats = {"user_id": user_id, "live_batches_sent": int(sent)}
    logger.info("account.closed sent", extra=stats)
    return stats
