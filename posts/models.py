from django.conf import settings
from django.db import models
from django.utils import timezone


class Post(models.Model):
    """A short text. Ids grow with time, so "newest first" is "highest id first"."""

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="posts",
        db_index=False,  # led by the (author, -id) index
    )
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # A client's retry key: the same key from the same author returns the first post. NULL,
    # not "", when absent: the unique constraint covers only posts that have one.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    # When the post's fan-out message was handed to its transport (confirmed by the broker in
    # production). Null means the sweeper still has to publish it.
    published_at = models.DateTimeField(null=True, blank=True)

    # A reply: the post it answers and that post's author. Deleting the parent leaves its
    # replies in place with their `reply_to` (no database constraint, nothing cascades); the
    # parent then answers 404.
    reply_to = models.ForeignKey(
        "self",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # led by the (reply_to, id) index
        db_constraint=False,
    )
    reply_to_author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # a partial index below: most posts are no reply
    )
    # The id of the thread's root post; null on a root (the API shows its own id).
    conversation = models.BigIntegerField(null=True, blank=True)
    # A repost is a post with empty text that points at its original (as Mastodon's boosts):
    # timelines, cursors, fan-out and deletion treat it like any post.
    repost_of = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reposts",
        db_index=False,  # led by the unique (repost_of, author) index
    )
    # Exact counts, kept in the transaction of each write that changes them (`recount`
    # repairs them).
    reply_count = models.IntegerField(default=0)
    like_count = models.IntegerField(default=0)
    repost_count = models.IntegerField(default=0)
    # Parsed once at creation: [{"id", "username"}] of the accounts named, and the tags.
    mentions = models.JSONField(default=list, blank=True)
    hashtags = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["author", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="posts_post_unique_idempotency_key",
            ),
            models.UniqueConstraint(
                fields=["repost_of", "author"],
                condition=models.Q(repost_of__isnull=False),
                name="posts_post_one_repost_per_author",
            ),
        ]
        indexes = [
            models.Index(fields=["author", "-id"], name="posts_author_id_idx"),
            models.Index(
                fields=["id"],
                condition=models.Q(published_at__isnull=True),
                name="posts_unpublished_idx",
            ),
            models.Index(
                fields=["reply_to", "id"],
                condition=models.Q(reply_to__isnull=False),
                name="posts_reply_to_idx",
            ),
            models.Index(
                fields=["reply_to_author"],
                condition=models.Q(reply_to_author__isnull=False),
                name="posts_reply_to_author_idx",
            ),
        ]

    def __str__(self) -> str:
        if self.repost_of_id:
            return f"{self.author_id}: repost of {self.repost_of_id}"
        return f"{self.author_id}: {self.text[:40]}"

    @property
    def original_id(self) -> int:
        """The post that likes, reposts, bookmarks and replies of this one go to."""
        return self.repost_of_id or self.pk


class TimelineEntry(models.Model):
    """A post in a user's home timeline (fan-out on write). Capped per user.

    Derived data, written thousands of rows at a time by the fan-out: its foreign keys are
    not database constraints (checking them cost more than the inserts). Deleting a user or a
    post still deletes their entries (Django's cascade), and the feed joins each entry to its
    post, so an entry can never show a post that is gone."""

    pk = models.CompositePrimaryKey("user_id", "post_id")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+", db_constraint=False)

    class Meta:
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return f"post {self.post_id} in the timeline of {self.user_id}"


class Like(models.Model):
    """`user` likes `post` (never a repost: liking a repost likes its original)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes", db_index=False
    )
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes", db_index=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post", "user"], name="posts_like_unique_pair"),
        ]
        indexes = [
            models.Index(fields=["post", "-id"], name="posts_like_post_idx"),
            models.Index(fields=["user", "-id"], name="posts_like_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.post_id}"


class Bookmark(models.Model):
    """`user` keeps `post` for later. Private: only its owner ever sees it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="bookmarks",
        db_index=False,
    )
    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, related_name="bookmarks", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post", "user"], name="posts_bookmark_unique_pair"),
        ]
        indexes = [models.Index(fields=["user", "-id"], name="posts_bookmark_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} bookmarked {self.post_id}"


class Hashtag(models.Model):
    """A `#tag`, stored case-folded."""

    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"#{self.name}"


class PostHashtag(models.Model):
    """A post carrying a tag. The author and time are copied from the post, so trending
    tags are counted from this table alone."""

    hashtag = models.ForeignKey(
        Hashtag, on_delete=models.CASCADE, related_name="post_links", db_index=False
    )
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="tag_links")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Also the tag page's index: a tag's posts by id, newest first.
            models.UniqueConstraint(fields=["hashtag", "post"], name="posts_posthashtag_unique"),
        ]
        indexes = [models.Index(fields=["created_at"], name="posts_posthashtag_created_idx")]

    def __str__(self) -> str:
        return f"post {self.post_id} #{self.hashtag_id}"
