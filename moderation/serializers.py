from rest_framework import serializers

from accounts.serializers import AuthorSerializer, UsernameField
from moderation.models import Report


class ReportCreateSerializer(serializers.Serializer):
    user = UsernameField(required=False, help_text="The username of the account reported.")
    post = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="The id of the post reported."
    )
    reason = serializers.ChoiceField(choices=Report.Reason.choices)
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=1000, help_text="Details."
    )

    def validate(self, attrs):
        if "user" not in attrs and "post" not in attrs:
            raise serializers.ValidationError("Name a `user`, a `post`, or both.")
        return attrs


class ReportResolveSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=Report.Action.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class ReportSerializer(serializers.ModelSerializer):
    """A report as its reporter and the admins see it."""

    reporter = AuthorSerializer(read_only=True)
    user = AuthorSerializer(read_only=True, allow_null=True)
    post = serializers.IntegerField(
        source="post_id", read_only=True, allow_null=True, help_text="Null once removed."
    )
    resolved_by = AuthorSerializer(read_only=True, allow_null=True)
    action = serializers.ChoiceField(
        choices=Report.Action.choices, read_only=True, allow_blank=True
    )

    class Meta:
        model = Report
        fields = [
            "id",
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
        read_only_fields = fields


class ReportFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Report.Status.choices, required=False)
    reason = serializers.ChoiceField(choices=Report.Reason.choices, required=False)
