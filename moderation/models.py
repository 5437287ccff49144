from django.conf import settings
from django.db import models
from django.utils import timezone


class Report(models.Model):
    """A user's report of an account or a post, and how an admin resolved it."""

    class Reason(models.TextChoices):
        SPAM = "spam", "Spam"
        ABUSE = "abuse", "Abuse"
        ILLEGAL = "illegal", "Illegal"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    class Action(models.TextChoices):
        DISMISS = "dismiss", "Dismiss"
        REMOVE_POST = "remove_post", "Remove the post"
        SUSPEND = "suspend", "Suspend the account"

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made"
    )
    # The account reported: named by the reporter, or the reported post's author.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reports_received",
    )
    post = models.ForeignKey(
        "posts.Post", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What the post said when it was reported: it stays readable after the post is removed.
    post_text = models.TextField(blank=True)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    comment = models.TextField(blank=True, max_length=1000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices, blank=True)
    note = models.TextField(blank=True, max_length=1000)

    class Meta:
        indexes = [models.Index(fields=["status", "-id"], name="moderation_report_queue_idx")]

    def __str__(self) -> str:
        return f"report {self.pk} ({self.reason}, {self.status})"


class ModerationAction(models.Model):
    """The record of every moderation action: who did what to whom, when and why. Kept
    when the account or post it names is gone (their names and ids are copied)."""

    admin = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    admin_username = models.CharField(max_length=150)
    action = models.CharField(max_length=16, choices=Report.Action.choices)
    report = models.ForeignKey(
        Report, on_delete=models.SET_NULL, null=True, blank=True, related_name="actions"
    )
    target_user_id = models.BigIntegerField(null=True, blank=True)
    target_username = models.CharField(max_length=150, blank=True)
    target_post_id = models.BigIntegerField(null=True, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.admin_username}: {self.action} at {self.created_at:%Y-%m-%d %H:%M}"
