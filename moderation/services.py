"""Reports and their resolution: the moderation queue."""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import user_set_access
from moderation.models import ModerationAction, Report
from posts.models import Post
from posts.services import posts_delete

logger = logging.getLogger(__name__)

Action = Report.Action


def report_create(
    *,
    reporter: User,
    reason: str,
    user: User | None = None,
    post: Post | None = None,
    comment: str = "",
) -> Report:
    """File a report against an account, a post, or both (a post's report names its author
    too). The post's text is kept with the report, so it can be judged after the post is
    gone."""
    if user is None and post is None:
        raise ValidationError({"detail": "Name a `user`, a `post`, or both."})
    if user is None:
        user = post.author
    if user.pk == reporter.pk:
        raise ValidationError({"detail": "You cannot report yourself."})
    report = Report.objects.create(
        reporter=reporter,
        user=user,
        post=post,
        post_text=post.text if post is not None else "",
        reason=reason,
        comment=comment,
    )
    logger.info("report filed", extra={"report_id": report.pk, "user_id": reporter.pk})
    return report


def report_resolve(*, report: Report, admin: User, action: str, note: str = "") -> Report:
    """Resolve an open report: `dismiss` it, `remove_post` (deleted as its author would, with
    its reposts, notifications and counts), or `suspend` the account (signed out everywhere,
    its posts hidden until reinstated). Records who did what, when and why."""
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        if report.status == Report.Status.RESOLVED:
            raise ValidationError({"detail": "This report is resolved already."})
        if action == Action.REMOVE_POST:
            if report.post_id is None:
                raise ValidationError({"action": ["The report names no post, or it is gone."]})
            posts_delete(post_ids=[report.post_id])
        elif action == Action.SUSPEND:
            if report.user is None:
                raise ValidationError({"action": ["The reported account is gone."]})
            user_set_access(user=report.user, by=admin, is_active=False)
        report.status = Report.Status.RESOLVED
        report.resolved_by, report.resolved_at = admin, timezone.now()
        report.action, report.note = action, note
        report.save(update_fields=["status", "resolved_by", "resolved_at", "action", "note"])
        ModerationAction.objects.create(
            admin=admin,
            admin_username=admin.username,
            action=action,
            report=report,
            target_user_id=report.user_id,
            target_username=report.user.username if report.user else "",
            target_post_id=report.post_id,
            note=note,
        )
    logger.info(
        "report resolved",
        extra={"report_id": report.pk, "user_id": admin.pk, "action": action},
    )
    return report
