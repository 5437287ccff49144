"""Writes to posts: creating (with replies, mentions and tags), publishing, deleting."""

import logging
from collections import Counter

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from common import events
from common.availability import database_outage, is_database_unavailable
from common.locks import author_fanout_lock
from follows.models import Block
from posts import text as post_text
from posts.models import Hashtag, Post, PostHashtag, TimelineEntry

logger = logging.getLogger(__name__)

REPLY_TO_GONE = "The post you reply to does not exist or was deleted."
DELETE_REFUSED = "Only the author or an admin may delete this post."


def post_create(
    *,
    author: User,
    text: str,
    reply_to_id: int | None = None,
    idempotency_key: str | None = None,
) -> tuple[Post, bool]:
    """Create a post (a reply when `reply_to_id` is given) and return `(post, created)`.

    The text's `@mentions` of existing accounts and its `#tags` are parsed once, here. The
    post enters the author's own timeline, the author's `posts_count` and the parent's
    `reply_count` grow, all in one transaction. After commit, its fan-out (followers'
    timelines, notifications, live events) is handed to the transport; if that fails the
    post stays unpublished and the sweeper publishes it later. A reply to a repost answers
    its original. With an `idempotency_key`, a retry by the same author within
    IDEMPOTENCY_WINDOW returns the first post with `created=False`."""
    if idempotency_key:
        existing = _post_for_key(author, idempotency_key)
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            parent = _reply_parent(author, reply_to_id) if reply_to_id is not None else None
            post = Post.objects.create(
                author=author,
                text=text,
                idempotency_key=idempotency_key,
                reply_to=parent,
                reply_to_author=parent.author if parent else None,
                conversation=(parent.conversation or parent.pk) if parent else None,
                mentions=_mentions(text),
                hashtags=post_text.hashtags(text),
            )
            _link_hashtags(post)
            TimelineEntry.objects.create(user=author, post=post)
            User.objects.filter(pk=author.pk).update(posts_count=F("posts_count") + 1)
            if parent is not None:
                # Last, so the parent's row is locked only for the commit.
                updated = Post.objects.filter(pk=parent.pk).update(reply_count=F("reply_count") + 1)
                if not updated:
                    raise ValidationError({"reply_to": [REPLY_TO_GONE]})
            transaction.on_commit(lambda: post_publish(post_id=post.pk), robust=True)
    except IntegrityError:
        # A concurrent retry with the same key won the race.
        existing = _post_for_key(author, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return existing, False
    logger.info("post created", extra={"post_id": post.pk, "user_id": author.pk})
    return post, True


def _reply_parent(author: User, post_id: int) -> Post:
    # With the authors, which the reply shows (`reply_to_username`).
    parent = (
        Post.objects.filter(pk=post_id, author__is_active=True)
        .select_related("author", "repost_of__author")
        .first()
    )
    if parent is None:
        raise ValidationError({"reply_to": [REPLY_TO_GONE]})
    parent = parent.repost_of or parent
    refuse_across_block(author, parent.author_id)
    return parent


def refuse_across_block(user: User, author_id: int) -> None:
    """Replies, likes, reposts and bookmarks are refused across a block, either way."""
    if (
        author_id != user.pk
        and Block.objects.filter(
            Q(blocker=user, blocked_id=author_id) | Q(blocker_id=author_id, blocked=user)
        ).exists()
    ):
        raise PermissionDenied("You cannot interact with this account's posts.")


def _mentions(text: str) -> list[dict]:
    """`[{id, username}]` of the active accounts the text names, in order of first use."""
    names = post_text.mentioned_usernames(text)
    if not names:
        return []
    found = {
        user.username.lower(): {"id": user.pk, "username": user.username}
        for user in User.objects.usernames_in(names).filter(is_active=True).only("id", "username")
    }
    return [found[name] for name in names if name in found]


def _link_hashtags(post: Post) -> None:
    if not post.hashtags:
        return
    Hashtag.objects.bulk_create(
        [Hashtag(name=name) for name in post.hashtags], ignore_conflicts=True
    )
    tag_ids = Hashtag.objects.filter(name__in=post.hashtags).values_list("id", flat=True)
    PostHashtag.objects.bulk_create(
        [
            PostHashtag(
                hashtag_id=tag_id, post=post, author_id=post.author_id, created_at=post.created_at
            )
            for tag_id in tag_ids
        ]
    )


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
    try:
        Post.objects.filter(pk=post_id, published_at__isnull=True).update(
            published_at=timezone.now()
        )
    except Exception as exc:
        # Published, but the database went away before the mark: the sweeper publishes the
        # post again later and its fan-out is idempotent. The outage is logged once.
        if not is_database_unavailable(exc):
            raise
        database_outage.down(exc)
    return True


def post_deletable(*, author_id: int, actor: User) -> bool:
    """Whether `actor` may delete a post by `author_id`: its author or an admin."""
    return author_id == actor.pk or actor.is_staff


def post_delete(*, post: Post, actor: User) -> None:
    """Delete a post (its author or an admin): it and its reposts leave every timeline, their
    notifications go, the counts that included them shrink, and subscribers get
    `post.deleted`. Its replies stay."""
    if not post_deletable(author_id=post.author_id, actor=actor):
        raise PermissionDenied(DELETE_REFUSED)
    posts_delete(post_ids=[post.pk])
    logger.info("post deleted", extra={"post_id": post.pk, "user_id": actor.pk})


def posts_delete(*, post_ids: list[int], announce: bool = True) -> int:
    """Delete posts, with their reposts, in one transaction, keeping every count exact: the
    authors' `posts_count`, the parents' `reply_count`, the originals' `repost_count`. With
    `announce`, one `post.deleted` event per deleted post goes out after commit (an account
    being deleted announces nothing: its sockets close). Returns how many went."""
    with transaction.atomic():
        rows = list(
            Post.objects.filter(pk__in=post_ids).values_list(
                "id", "author_id", "reply_to_id", "repost_of_id"
            )
        )
        if not rows:
            return 0
        rows += Post.objects.filter(repost_of__in=[row[0] for row in rows]).values_list(
            "id", "author_id", "reply_to_id", "repost_of_id"
        )
        rows = list(dict((row[0], row) for row in rows).values())
        gone = {row[0] for row in rows}
        # Waits for fan-out pages of these authors being written, so none can add rows
        # after (the same order everywhere: no deadlock between two deletions).
        for author_id in sorted({row[1] for row in rows}):
            author_fanout_lock(author_id, shared=False)
        _shrink(User, "posts_count", Counter(row[1] for row in rows))
        _shrink(Post, "reply_count", Counter(r[2] for r in rows if r[2] and r[2] not in gone))
        _shrink(Post, "repost_count", Counter(r[3] for r in rows if r[3] and r[3] not in gone))
        Post.objects.filter(pk__in=gone).delete()
        for post_id, author_id, _, repost_of_id in rows if announce else ():
            events.publish_on_commit(
                "post.deleted", post_id=post_id, author_id=author_id, repost_of=repost_of_id or 0
            )
    return len(rows)


def _shrink(model, field: str, amounts: Counter) -> None:
    """Subtract each amount from `field` of its row: one UPDATE per distinct amount."""
    by_amount: dict[int, list[int]] = {}
    for pk, amount in amounts.items():
        by_amount.setdefault(amount, []).append(pk)
    for amount, pks in by_amount.items():
        model.objects.filter(pk__in=sorted(pks)).update(**{field: F(field) - amount})
