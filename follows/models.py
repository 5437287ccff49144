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
