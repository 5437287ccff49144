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

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["author", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="posts_post_unique_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(fields=["author", "-id"], name="posts_author_id_idx"),
            models.Index(
                fields=["id"],
                condition=models.Q(published_at__isnull=True),
                name="posts_unpublished_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author_id}: {self.text[:40]}"


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
