from django.conf import settings
from django.db import models
from django.utils import timezone


class CurrentTransaction(models.Func):
    """The id of the transaction writing the row (PostgreSQL; NULL on SQLite)."""

    template = "(pg_current_xact_id()::text::bigint)"
    output_field = models.BigIntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return "NULL", []


class OldestRunningTransaction(models.Func):
    """The oldest transaction id still running when the row is written (PostgreSQL's
    snapshot xmin; NULL on SQLite)."""

    template = "(pg_snapshot_xmin(pg_current_snapshot())::text::bigint)"
    output_field = models.BigIntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return "NULL", []


class Notification(models.Model):
    """A persisted event for one recipient; ids grow with time and order the stream."""

    class Type(models.TextChoices):
        POST_CREATED = "post.created", "Post created"
        FOLLOW_CREATED = "follow.created", "Follow created"
        POST_LIKED = "post.liked", "Post liked"
        POST_REPOSTED = "post.reposted", "Post reposted"
        POST_REPLIED = "post.replied", "Post replied to"
        POST_MENTIONED = "post.mentioned", "Mentioned in a post"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,  # led by the (recipient, -id) index
    )
    type = models.CharField(max_length=32, choices=Type.choices)
    # Who did it: the author of the post, the new follower, who liked or reposted. The actor
    # and the post are the same for every row a fan-out page writes, so they are not
    # database constraints: checked per row, they took a quarter of a page's database time.
    # The page checks the post once, under the author's fan-out lock, which deleting a post
    # or an account takes exclusively. Django's cascade deletes the rows with their actor or
    # post.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    post = models.ForeignKey(
        "posts.Post",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # led by the unique (post, recipient, type, actor) index
        db_constraint=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    read = models.BooleanField(default=False)
    # PostgreSQL takes an id when the row is inserted, not when its transaction commits, so
    # a notification can commit after one with a higher id that a client has already seen.
    # Those are the rows written by a transaction still running when the seen one was
    # written: `txid >= horizon` of the seen one (selectors.since_filter). The database
    # fills both on every insert; SQLite commits its writers one at a time, in id order.
    # A row sent live again after newer ones went out (a retried job, a follow) takes the
    # sending transaction's `txid` first (fanout._sent_again): it counts as committed then.
    txid = models.BigIntegerField(null=True, editable=False, db_default=CurrentTransaction())
    horizon = models.BigIntegerField(
        null=True, editable=False, db_default=OldestRunningTransaction()
    )

    class Meta:
        constraints = [
            # At most one per (type, actor, post) for each recipient, so a redelivered event
            # or a repeated like adds nothing. Also the index that finds a post's rows.
            models.UniqueConstraint(
                fields=["post", "recipient", "type", "actor"],
                condition=models.Q(post__isnull=False),
                name="notifications_one_per_post_event",
            ),
        ]
        indexes = [
            # A reader's notifications, newest first. It carries the commit-order columns,
            # so a reconnect's late check (selectors.late_ids: the reader's 1,000 newest
            # rows below `since`) reads the index alone, not a table row per notification.
            models.Index(
                fields=["recipient", "-id"],
                include=["txid", "horizon"],
                name="notifications_inbox_idx",
            ),
            models.Index(
                fields=["recipient"],
                condition=models.Q(read=False),
                name="notifications_unread_idx",
            ),
            models.Index(fields=["created_at"], name="notifications_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} for {self.recipient_id}"
