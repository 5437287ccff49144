"""Writes to posts and timelines."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from accounts.models import User
from common import events
from common.locks import author_fanout_lock
from posts.models import Post, TimelineEntry

logger = logging.getLogger(__name__)


def post_create(
    *, author: User, text: str, idempotency_key: str | None = None
) -> tuple[Post, bool]:
    """Create a post and return `(post, created)`.

    The post enters the author's own timeline in the same transaction. After commit, its
    fan-out (followers' timelines, notifications, live events) is handed to the transport;
    if that fails the post stays unpublished and the sweeper publishes it later.
    With an `idempotency_key`, a retry by the same author within IDEMPOTENCY_WINDOW returns
    the first post with `created=False` instead of making a duplicate."""
    if idempotency_key:
        existing = _post_for_key(author, idempotency_key)
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            post = Post.objects.create(author=author, text=text, idempotency_key=idempotency_key)
            TimelineEntry.objects.create(user=author, post=post)
            transaction.on_commit(lambda: post_publish(post_id=post.pk), robust=True)
    except IntegrityError:
        # A concurrent retry with the same key won the race.
        existing = _post_for_key(author, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return existing, False
    logger.info("post created", extra={"post_id": post.pk, "user_id": author.pk})
    return post, True


def _post_for_key(author: User, key: str) -> Post | None:
    post = Post.objects.select_related("author").filter(author=author, idempotency_key=key).first()
    if post is None:
        return None
    if post.created_at >= timezone.now() - settings.IDEMPOTENCY_WINDOW:
        return post
    # The key has expired: release it so it can name a new post.
    Post.objects.filter(pk=post.pk).update(idempotency_key=None)
    return None


def post_publish(*, post_id: int) -> bool:
    """Hand the post's fan-out to the transport and mark it published; False if that failed
    (the sweeper retries)."""
    if not events.publish("post.created", post_id=post_id):
        return False
    Post.objects.filter(pk=post_id, published_at__isnull=True).update(published_at=timezone.now())
    return True


def post_delete(*, post: Post, actor: User) -> None:
    """Delete a post (its author or an admin): it leaves every timeline and its notifications
    go; subscribers get `post.deleted`."""
    if post.author_id != actor.pk and not actor.is_staff:
        raise PermissionDenied("Only the author or an admin may delete this post.")
    post_id = post.pk
    with transaction.atomic():
        # Waits for fan-out pages of the author being written, so none can add rows after.
        author_fanout_lock(post.author_id, shared=False)
        post.delete()
        events.publish_on_commit("post.deleted", post_id=post_id, author_id=post.author_id)
    logger.info("post deleted", extra={"post_id": post_id, "user_id": actor.pk})


def timeline_backfill(*, user: User, author: User, limit: int | None = None) -> None:
    """Put `author`'s newest posts into `user`'s timeline (after a follow), then keep the
    timeline within its cap."""
    limit = settings.FOLLOW_BACKFILL if limit is None else limit
    if limit <= 0:
        return
    post_ids = (
        Post.objects.filter(author=author).order_by("-id").values_list("id", flat=True)[:limit]
    )
    TimelineEntry.objects.bulk_create(
        [TimelineEntry(user=user, post_id=post_id) for post_id in post_ids],
        ignore_conflicts=True,
    )
    timeline_trim(user_ids=[user.pk])


def timeline_remove_author(*, user: User, author: User) -> None:
    """Take `author`'s posts out of `user`'s timeline (after an unfollow)."""
    TimelineEntry.objects.filter(
        user=user, post_id__in=Post.objects.filter(author=author).values("id")
    ).delete()


def timeline_trim(*, user_ids: list[int], cap: int | None = None) -> int:
    """Delete entries past the newest `cap` (TIMELINE_CAP) of each user's timeline; return
    how many went. One read finds each user's oldest entry to keep (an index-only scan of at
    most `cap` entries per user), one delete drops what is older."""
    cap = settings.TIMELINE_CAP if cap is None else cap
    if not user_ids:
        return 0
    oldest_kept = (
        TimelineEntry.objects.filter(user_id=OuterRef("pk"))
        .order_by("-post_id")
        .values("post_id")[cap - 1 : cap]
    )
    boundaries = (
        User.objects.filter(pk__in=user_ids)
        .annotate(boundary=Subquery(oldest_kept))
        .filter(boundary__isnull=False)
        .values_list("pk", "boundary")
    )
    condition = Q()
    for user_id, boundary in boundaries:
        condition |= Q(user_id=user_id, post_id__lt=boundary)
    if not condition:
        return 0
    deleted, _ = TimelineEntry.objects.filter(condition).delete()
    return deleted
