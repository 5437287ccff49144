"""Fan-out: the handlers of the product events this app reacts to (registered with
common.events). The same code runs in the RabbitMQ worker (production) and in-process after
commit (embedded mode).

A `post.created` event first writes the notifications the post causes to single accounts
(`post.replied` to the parent's author, `post.reposted` to the original's author,
`post.mentioned` to each account named), then walks the author's followers in batches. Per
batch, one transaction inserts the timeline entries and the `post.created` notifications
with INSERT ... SELECT over the follows index (no rows travel through Python) and ON
CONFLICT DO NOTHING, so a redelivered event changes nothing; then one live message carries
the batch's notifications to the websocket processes (notifications.live) while the next
batch is written. A reply reaches only the followers who also follow the account replied to;
a repost skips timelines that hold its original. The caller acknowledges the event only
after everything returned.
"""

import asyncio
import logging
import time
from collections import defaultdict
from datetime import datetime

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from accounts.serializers import UserPublicSerializer, author_of
from common import events
from common.locks import author_fanout_lock
from follows.models import Block, Follow, Mute
from notifications import live
from notifications.models import CurrentTransaction, Notification
from posts.models import Like, Post, TimelineEntry
from posts.selectors import PostRow, with_related
from posts.serializers import post_representation, timestamp
from posts.services import timeline_trim

logger = logging.getLogger("warble.fanout")

Type = Notification.Type


def _sent_again(notification_ids: list[int]) -> None:
    """Rows about to go out live after they committed (a redelivered or retried job, a
    follow written by its request): their `txid` becomes the current transaction's.

    Meanwhile a client may have been sent a newer id live. If it reconnects with that
    `since` after missing this message, the replay's late check (selectors.late_ids) finds
    the row as one that committed after its `since`: without this, the row, which committed
    before, would be neither newer nor late, and lost to that client. Clients de-duplicate
    by id, so a client that did get the message may be sent it once more."""
    if notification_ids and connection.vendor == "postgresql":
        Notification.objects.filter(pk__in=notification_ids).update(txid=CurrentTransaction())


def _notification(**fields) -> Notification:
    """The notification with these fields: created, or written by an earlier try of the same
    job and then sent live again (`_sent_again`)."""
    notification, created = Notification.objects.get_or_create(**fields)
    if not created:
        _sent_again([notification.pk])
    return notification


def _payload(post: Post) -> dict:
    # Live frames are shared by every recipient: they carry no viewer's likes or bookmarks.
    return post_representation(PostRow.of(post))


# --- post.created ------------------------------------------------------------------------


def _post_snapshot(post_id: int) -> tuple[Post, dict] | None:
    post = with_related(Post.objects.filter(pk=post_id)).first()
    if post is None:
        return None
    return post, _payload(post)


def _follower_page(
    author_id: int, posted_at: datetime | None, after: int, size: int
) -> list[tuple[int, int]]:
    """The next `(follow id, follower id)` page of the author's followers (those who already
    followed at `posted_at`, when given)."""
    follows = Follow.objects.filter(followee_id=author_id, id__gt=after)
    if posted_at is not None:
        follows = follows.filter(created_at__lte=posted_at)
    return list(follows.order_by("id").values_list("id", "follower_id")[:size])


def _authors(post: Post) -> list[int]:
    """The accounts whose content a post shows: its author, and a repost's original's."""
    return [post.author_id] + ([post.repost_of.author_id] if post.repost_of_id else [])


def _audience(post: Post) -> tuple[str, list]:
    """The SQL condition (on the follows row `f`) that narrows a post's followers to those
    whose timeline and inbox it enters, with its parameters. Read inside each page's
    transaction, under the author's lock, so a block or a mute committed before the page
    applies to it (and one committed after cleans up what it wrote)."""
    qn = connection.ops.quote_name
    sql, params = "", []
    authors = _authors(post)
    # Most authors are blocked and muted by nobody: one indexed look-up each spares every
    # row its anti-joins.
    if Block.objects.filter(Q(blocked_id__in=authors) | Q(blocker_id__in=authors)).exists():
        marks = ", ".join(["%s"] * len(authors))
        blocks = qn(Block._meta.db_table)
        sql += (
            f" AND NOT EXISTS (SELECT 1 FROM {blocks} b WHERE "  # noqa: S608
            f"(b.blocker_id = f.follower_id AND b.blocked_id IN ({marks})) OR "
            f"(b.blocked_id = f.follower_id AND b.blocker_id IN ({marks})))"
        )
        params += authors + authors
    if Mute.objects.active().filter(muted_id__in=authors).exists():
        marks = ", ".join(["%s"] * len(authors))
        sql += (
            f" AND NOT EXISTS (SELECT 1 FROM {qn(Mute._meta.db_table)} m "  # noqa: S608
            f"WHERE m.muter_id = f.follower_id AND m.muted_id IN ({marks}) "
            "AND (m.expires_at IS NULL OR m.expires_at > %s))"
        )
        params += [*authors, timezone.now()]
    if post.reply_to_author_id is not None and post.reply_to_author_id != post.author_id:
        # A reply: only for followers who also follow the account replied to (or are it).
        sql += (
            " AND (f.follower_id = %s OR EXISTS (SELECT 1 FROM "  # noqa: S608
            f"{qn(Follow._meta.db_table)} f2 WHERE f2.follower_id = f.follower_id "
            "AND f2.followee_id = %s))"
        )
        params += [post.reply_to_author_id, post.reply_to_author_id]
    if post.repost_of_id is not None:
        # A repost: not into a timeline that holds the original already.
        sql += (
            f" AND NOT EXISTS (SELECT 1 FROM {qn(TimelineEntry._meta.db_table)} t2 "  # noqa: S608
            "WHERE t2.user_id = f.follower_id AND t2.post_id = %s)"
        )
        params.append(post.repost_of_id)
    return sql, params


def _fanout_batch(
    post: Post, batch: list[tuple[int, int]]
) -> tuple[list[tuple[int, int]], datetime]:
    """Fill the timelines and inboxes of one page of followers in one transaction; return
    `(notification id, recipient id)` for every recipient, and the notifications' time."""
    first_id, last_id = batch[0][0], batch[-1][0]
    recipients = [follower_id for _, follower_id in batch]
    qn = connection.ops.quote_name
    follows = qn(Follow._meta.db_table)
    narrowed, narrow_params = _audience(post)
    # The same predicate selects the batch's followers in both statements.
    where = (
        "WHERE f.followee_id = %s AND f.id >= %s AND f.id <= %s AND f.created_at <= %s" + narrowed
    )
    params = [post.author_id, first_id, last_id, post.created_at, *narrow_params]
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        author_fanout_lock(post.author_id, shared=True)
        # Deleting the post (or its author) takes the lock exclusively, so a post seen here
        # stays until this page commits, and the deletion then removes what it wrote.
        if not Post.objects.filter(pk=post.pk).exists():
            return [], now
        cursor.execute(
            f"INSERT INTO {qn(TimelineEntry._meta.db_table)} (user_id, post_id) "  # noqa: S608
            f"SELECT f.follower_id, %s FROM {follows} f {where} ON CONFLICT DO NOTHING",
            [post.pk, *params],
        )
        cursor.execute(
            f"INSERT INTO {qn(Notification._meta.db_table)} "  # noqa: S608
            "(recipient_id, type, actor_id, post_id, created_at, read) "
            f"SELECT f.follower_id, %s, %s, %s, %s, %s FROM {follows} f {where} "
            "ON CONFLICT DO NOTHING RETURNING id, recipient_id",
            [Type.POST_CREATED, post.author_id, post.pk, now, False, *params],
        )
        rows = cursor.fetchall()
        if len(rows) < len(recipients):
            # A redelivered event: rows that existed already have their events sent again.
            # (A narrowed audience, of a reply or a repost, comes here too and mostly finds
            # nothing.)
            existing = Notification.objects.filter(
                post_id=post.pk, type=Type.POST_CREATED, recipient_id__in=recipients
            ).exclude(id__in=[notification_id for notification_id, _ in rows])
            old = list(existing.values_list("id", "recipient_id", "created_at"))
            if old:
                rows += [(notification_id, recipient) for notification_id, recipient, _ in old]
                now = old[0][2]
                _sent_again([notification_id for notification_id, _, _ in old])
        # Trimming is spread out: each recipient's timeline is trimmed on about one post in
        # TIMELINE_TRIM_EVERY it receives, which keeps it near the cap at a small cost.
        every = settings.TIMELINE_TRIM_EVERY
        timeline_trim(user_ids=[r for r in recipients if (r + post.pk) % every == 0])
    return rows, now


def _single_notifications(post: Post) -> list[tuple[Notification, dict]]:
    """Persist what the post tells single accounts (a reply, a repost, mentions), never to
    its own author; return each notification with its live body. Idempotent."""
    author = post.author
    wanted: list[tuple[int, str, Post]] = []
    if post.reply_to_author_id and post.reply_to_author_id != author.pk:
        wanted.append((post.reply_to_author_id, Type.POST_REPLIED, post))
    original = post.repost_of if post.repost_of_id else None
    if original is not None and original.author_id != author.pk:
        wanted.append((original.author_id, Type.POST_REPOSTED, original))
    mentioned = {mention["id"] for mention in post.mentions} - {author.pk}
    if mentioned:
        mentioned &= set(
            User.objects.filter(pk__in=mentioned, is_active=True).values_list("pk", flat=True)
        )
        wanted += [
            (mention["id"], Type.POST_MENTIONED, post)
            for mention in post.mentions
            if mention["id"] in mentioned
        ]
    if not wanted:
        return []
    made = []
    with transaction.atomic():
        author_fanout_lock(author.pk, shared=True)
        if not Post.objects.filter(pk=post.pk).exists():
            return []
        # Nobody hears from an account they block, are blocked by, or mute.
        unwanted = _unwelcome(author.pk, {recipient for recipient, _, _ in wanted})
        for recipient_id, kind, subject in wanted:
            if recipient_id in unwanted:
                continue
            notification = _notification(
                recipient_id=recipient_id, type=kind, actor_id=author.pk, post_id=subject.pk
            )
            body = {"post": _payload(subject)}
            if kind == Type.POST_REPOSTED:
                body = {"actor": author_of(author), **body}
            made.append((notification, body))
    return made


def _unwelcome(actor_id: int, recipients: set[int]) -> set[int]:
    """Those of `recipients` who must not be told of what `actor_id` did: a block either
    way, or a mute in force."""
    blocked = Block.objects.filter(
        Q(blocker_id__in=recipients, blocked_id=actor_id)
        | Q(blocked_id__in=recipients, blocker_id=actor_id)
    ).values_list("blocker_id", "blocked_id")
    muting = Mute.objects.active().filter(muter_id__in=recipients, muted_id=actor_id)
    return {a if a != actor_id else b for a, b in blocked} | set(
        muting.values_list("muter_id", flat=True)
    )


async def _send_single(made: list[tuple[Notification, dict]]) -> int:
    """Send each notification live: recipients side by side, one recipient's in id order
    (a reply that also mentions its parent's author), stopping at the first that fails, so
    a client that has the higher id also has the lower one, which a `since` replay then
    need not send again."""
    by_recipient: dict[int, list[tuple[Notification, dict]]] = defaultdict(list)
    for notification, body in made:
        by_recipient[notification.recipient_id].append((notification, body))

    async def send_in_order(items: list[tuple[Notification, dict]]) -> int:
        sent = 0
        for notification, body in sorted(items, key=lambda item: item[0].pk):
            if not await live.send(
                live.notification(
                    event=notification.type,
                    body=body,
                    created_at=timestamp(notification.created_at),
                    recipients=[[notification.recipient_id, notification.pk]],
                )
            ):
                # Nothing newer for this recipient: the retry sends them all again, their
                # rows stamped in one transaction (`_sent_again`), which a replay after the
                # higher id would take as committed with it and leave out.
                break
            sent += 1
        return sent

    results = await asyncio.gather(*(send_in_order(items) for items in by_recipient.values()))
    return sum(results)


@events.register("post.created", "post_id")
async def fanout_post(post_id: int) -> dict:
    started = time.perf_counter()
    snapshot = await database_sync_to_async(_post_snapshot)(post_id)
    if snapshot is None:
        logger.info("fan-out skipped: post is gone", extra={"post_id": post_id})
        return {"post_id": post_id, "recipients": 0, "skipped": True}
    post, payload = snapshot
    if not post.author.is_active or (post.repost_of_id and not post.repost_of.author.is_active):
        # A suspended account's pending fan-out is dropped: nothing goes out in its name.
        logger.info("fan-out skipped: author suspended", extra={"post_id": post_id})
        return {"post_id": post_id, "recipients": 0, "skipped": True}
    single = await database_sync_to_async(_single_notifications)(post)
    single_sent = await _send_single(single)
    # Pages are written by FANOUT_WRITERS transactions at once (each on its own connection),
    # and each page's live message goes out as soon as its rows are committed.
    writers = asyncio.Semaphore(settings.FANOUT_WRITERS)
    write = database_sync_to_async(_fanout_batch, thread_sensitive=False)

    async def write_page(page) -> tuple[int, bool]:
        try:
            rows, created_at = await write(post, page)
        finally:
            writers.release()
        if not rows:  # the post was deleted meanwhile, or nobody of this page gets it
            return 0, None
        message = live.notification(
            event=Type.POST_CREATED,
            body={"post": payload},
            created_at=timestamp(created_at),
            recipients=[[recipient, notification] for notification, recipient in rows],
        )
        return len(rows), await live.send(message)

    pages, after = [], 0
    try:
        while page := await database_sync_to_async(_follower_page)(
            post.author_id, post.created_at, after, settings.FANOUT_BATCH_SIZE
        ):
            after = page[-1][0]
            await writers.acquire()
            pages.append(asyncio.create_task(write_page(page)))
    finally:
        # The pages started are waited for even when reading the next one failed: the job
        # ends with none of its writes running on, and every page's failure is read (an
        # unread one is logged as "Task exception was never retrieved"). The job fails with
        # the error itself, which the worker classifies (a TaskGroup would wrap it).
        results = await asyncio.gather(*pages, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    recipients = sum(count for count, _ in results)
    sends = [ok for _, ok in results if ok is not None]
    # The author's own timeline grows by their posts: trimmed on the same schedule.
    if (post.author_id + post.pk) % settings.TIMELINE_TRIM_EVERY == 0:
        await database_sync_to_async(timeline_trim)(user_ids=[post.author_id])
    stats = {
        "post_id": post_id,
        "recipients": recipients,
        "single_notifications": len(single),
        "live_batches": len(sends) + len(single),
        "live_batches_sent": sum(sends) + single_sent,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    live.require_sent(stats, sent=stats["live_batches_sent"], expected=stats["live_batches"])
    logger.info("fan-out done", extra=stats)
    return stats


# --- post.deleted ------------------------------------------------------------------------


def _forget_repost(author_id: int, repost_of: int) -> None:
    Notification.objects.filter(
        type=Type.POST_REPOSTED, actor_id=author_id, post_id=repost_of
    ).delete()


@events.register("post.deleted", "post_id", "author_id", repost_of=0)
async def broadcast_post_deleted(post_id: int, author_id: int, repost_of: int) -> dict:
    """Tell the author's and their followers' sockets that a post is gone; an undone repost
    also takes back its `post.reposted` notification."""
    if repost_of:
        await database_sync_to_async(_forget_repost)(author_id, repost_of)
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
    live.require_sent(stats, sent=sum(results), expected=len(batches))
    logger.info("post.deleted sent", extra=stats)
    return stats


# --- post.liked / post.unliked -----------------------------------------------------------


def _like_notification(like_id: int) -> tuple[Notification, dict] | None:
    like = Like.objects.select_related("user").filter(pk=like_id).first()
    if like is None:
        return None
    post = with_related(Post.objects.filter(pk=like.post_id)).first()
    if post is None or post.author_id == like.user_id or not like.user.is_active:
        return None
    with transaction.atomic():
        # As in a fan-out page: a deletion of the post waits for this row, then removes it.
        author_fanout_lock(post.author_id, shared=True)
        if not Like.objects.filter(pk=like_id).exists():
            return None  # taken back meanwhile
        if _unwelcome(like.user_id, {post.author_id}):
            return None
        notification = _notification(
            recipient_id=post.author_id,
            type=Type.POST_LIKED,
            actor_id=like.user_id,
            post_id=post.pk,
        )
    return notification, {"actor": author_of(like.user), "post": _payload(post)}


@events.register("post.liked", "like_id")
async def notify_like(like_id: int) -> dict:
    made = await database_sync_to_async(_like_notification)(like_id)
    sent = await _send_single([made]) if made is not None else 0
    stats = {"like_id": like_id, "notified": made is not None, "live_batches_sent": sent}
    return live.require_sent(stats, sent=sent, expected=int(made is not None))


def _forget_like(user_id: int, post_id: int) -> int:
    deleted, _ = Notification.objects.filter(
        type=Type.POST_LIKED, actor_id=user_id, post_id=post_id
    ).delete()
    return deleted


@events.register("post.unliked", "user_id", "post_id")
async def forget_like(user_id: int, post_id: int) -> dict:
    """A like taken back takes its notification with it."""
    deleted = await database_sync_to_async(_forget_like)(user_id, post_id)
    return {"user_id": user_id, "post_id": post_id, "deleted": deleted}


# --- follow.created ----------------------------------------------------------------------


def _follow_event(notification_id: int) -> dict | None:
    # The request wrote the row; it goes out live now, maybe after newer ones did.
    _sent_again([notification_id])
    notification = (
        Notification.objects.select_related("actor")
        .filter(pk=notification_id, type=Type.FOLLOW_CREATED)
        .first()
    )
    if notification is None:
        return None
    return live.notification(
        event=Type.FOLLOW_CREATED,
        body={"follower": UserPublicSerializer(notification.actor).data},
        created_at=timestamp(notification.created_at),
        recipients=[[notification.recipient_id, notification.pk]],
    )


@events.register("follow.created", "notification_id")
async def deliver_follow_notification(notification_id: int) -> dict:
    message = await database_sync_to_async(_follow_event)(notification_id)
    sent = await live.send(message) if message is not None else False
    stats = {"notification_id": notification_id, "live_batches_sent": int(sent)}
    return live.require_sent(stats, sent=int(sent), expected=int(message is not None))


# --- account.closed ----------------------------------------------------------------------


@events.register("account.closed", "user_id")
async def close_account_sockets(user_id: int) -> dict:
    """A deleted or deactivated account's open websockets are closed, wherever they are."""
    sent = await live.send(live.account_closed(user_id=user_id))
    stats = {"user_id": user_id, "live_batches_sent": int(sent)}
    live.require_sent(stats, sent=int(sent), expected=1)
    logger.info("account.closed sent", extra=stats)
    return stats
