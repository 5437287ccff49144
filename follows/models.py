from django.conf import settings
from django.db import models
from django.utils import timezone


class Follow(models.Model):
    """`follower` follows `followee`. One row per pair; nobody follows themselves."""

    follower = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="following_relations",
        db_index=False,  # led by the unique (follower, followee) index
    )
    followee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="follower_relations",
        db_index=False,  # led by the (followee, -id) index
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["follower", "followee"], name="follows_follow_unique_pair"
            ),
            models.CheckConstraint(
                condition=~models.Q(follower=models.F("followee")),
                name="follows_follow_not_self",
            ),
        ]
        indexes = [
            models.Index(fields=["followee", "-id"], name="follows_followee_id_idx"),
            models.Index(fields=["follower", "-id"], name="follows_follower_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} -> {self.followee_id}"


class Block(models.Model):
    """`blocker` blocks `blocked`: no follows between them, no interactions by `blocked`
    with `blocker`'s posts, and `blocker` never meets `blocked`'s posts."""

    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="blocks_made",
        db_index=False,  # led by the unique (blocker, blocked) index
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="follows_block_unique"),
            models.CheckConstraint(
                condition=~models.Q(blocker=models.F("blocked")), name="follows_block_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


class MuteQuerySet(models.QuerySet):
    def active(self, at=None) -> "MuteQuerySet":
        """Mutes in force: without an end, or ending later than `at` (now)."""
        at = at or timezone.now()
        return self.filter(models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=at))


class Mute(models.Model):
    """`muter` does not want to see `muted`'s posts and reposts in the feed, nor their
    interactions in notifications; until `expires_at`, when set. Nobody is told."""

    muter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="mutes_made",
        db_index=False,  # led by the unique (muter, muted) index
    )
    muted = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mutes_received"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = MuteQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["muter", "muted"], name="follows_mute_unique"),
            models.CheckConstraint(
                condition=~models.Q(muter=models.F("muted")), name="follows_mute_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.muter_id} mutes {self.muted_id}"
