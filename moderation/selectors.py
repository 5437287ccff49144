"""Reads of the moderation queue."""

from django.db.models import Case, IntegerField, QuerySet, Value, When

from moderation.models import Report


def report_queue(*, status: str | None = None, reason: str | None = None) -> QuerySet[Report]:
    """Reports, open ones first, newest first within each; filtered by status and reason."""
    reports = Report.objects.select_related("reporter", "user", "post", "resolved_by")
    if status:
        reports = reports.filter(status=status)
    if reason:
        reports = reports.filter(reason=reason)
    return reports.annotate(
        open_first=Case(
            When(status=Report.Status.OPEN, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by("open_first", "-id")
