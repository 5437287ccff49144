from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from common.admin import ModerationAdmin
from moderation import services
from moderation.models import ModerationAction, Report
from moderation.selectors import report_queue


def _resolve_selected(action: str, label: str):
    """An admin action resolving the selected open reports through the same service as the
    API; each resolution is recorded as a ModerationAction and in Django's admin log."""

    @admin.action(description=label)
    def resolve(modeladmin, request, queryset):
        done = 0
        for report in queryset.filter(status=Report.Status.OPEN):
            try:
                services.report_resolve(report=report, admin=request.user, action=action)
            except ValidationError as exc:
                modeladmin.message_user(
                    request, f"Report {report.pk}: {' '.join(exc.messages)}", messages.ERROR
                )
                continue
            modeladmin.log_change(request, report, f"Resolved: {action}")
            done += 1
        modeladmin.message_user(request, f"{done} report(s) resolved: {label.lower()}.")

    resolve.__name__ = f"resolve_{action}"
    return resolve


@admin.register(Report)
class ReportAdmin(ModerationAdmin):
    """The report queue: open reports first, the reported content on each, and the three
    actions. Reports are filed by users and resolved here or through the API, not edited."""

    list_display = [
        "id",
        "status",
        "reason",
        "reported_user",
        "reported_post",
        "short_text",
        "reporter",
        "created_at",
        "action",
        "resolved_by",
    ]
    list_filter = ["status", "reason", "action"]
    search_fields = ["user__username", "reporter__username", "post_text", "comment"]
    list_select_related = ["user", "reporter", "resolved_by"]
    readonly_fields = [
        "reporter",
        "user",
        "post",
        "post_text",
        "reason",
        "comment",
        "status",
        "created_at",
        "resolved_by",
        "resolved_at",
        "action",
        "note",
    ]
    actions = [
        _resolve_selected(Report.Action.DISMISS, "Dismiss"),
        _resolve_selected(Report.Action.REMOVE_POST, "Remove the post"),
        _resolve_selected(Report.Action.SUSPEND, "Suspend the account"),
    ]

    def get_queryset(self, request):
        return report_queue()

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_delete_permission(self, request, obj=None):
        # The record stays: a report is resolved, never deleted.
        return False

    @admin.display(description="account")
    def reported_user(self, report: Report) -> str:
        return report.user.username if report.user else "(gone)"

    @admin.display(description="post")
    def reported_post(self, report: Report):
        return report.post_id or ("(removed)" if report.post_text else "")

    @admin.display(description="text")
    def short_text(self, report: Report) -> str:
        return report.post_text[:80]


@admin.register(ModerationAction)
class ModerationActionAdmin(ModerationAdmin):
    """Every moderation action taken, for the record: read only."""

    list_display = [
        "created_at",
        "admin_username",
        "action",
        "target_username",
        "target_post_id",
        "report",
        "note",
    ]
    list_filter = ["action", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["admin_username", "target_username", "note"]
    readonly_fields = [f.name for f in ModerationAction._meta.fields]

    def has_delete_permission(self, request, obj=None):
        return False
