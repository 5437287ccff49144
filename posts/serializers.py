import re
from datetime import UTC, datetime, time

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import AuthorSerializer, author_representation
from posts.models import Post

_timestamp = serializers.DateTimeField()


def timestamp(value) -> str:
    """A datetime as the API writes it: ISO 8601 in UTC."""
    return _timestamp.to_representation(value)


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class PostSerializer(serializers.ModelSerializer):
    author = AuthorSerializer(read_only=True)

    class Meta:
        model = Post
        fields = ["id", "author", "text", "created_at"]
        read_only_fields = fields

    def to_representation(self, post):
        # The declared fields document the shape; it is built directly because feeds,
        # searches and events render posts by the page.
        author = post.author
        return post_representation(
            post_id=post.id,
            text=post.text,
            created_at=post.created_at,
            author_id=author.id,
            username=author.username,
            display_name=author.display_name,
            avatar=author.avatar.name,
            request=self.context.get("request"),
        )


def post_representation(
    *,
    post_id: int,
    text: str,
    created_at,
    author_id: int,
    username: str,
    display_name: str,
    avatar: str,
    request=None,
) -> dict:
    """A post as the API shows it. Takes plain values so that rows fetched without model
    instances (the feed's posts.selectors.FeedRow) render exactly as PostSerializer does."""
    return {
        "id": post_id,
        "author": author_representation(
            user_id=author_id,
            username=username,
            display_name=display_name,
            avatar=avatar,
            request=request,
        ),
        "text": text,
        "created_at": timestamp(created_at),
    }


class PostCreateSerializer(serializers.Serializer):
    text = serializers.CharField(
        max_length=settings.POST_MAX_LENGTH,
        trim_whitespace=True,
        help_text=f"1 to {settings.POST_MAX_LENGTH} characters after trimming.",
    )


@extend_schema_field({"type": "string", "description": "ISO 8601 date (`2026-11-27`) or datetime"})
class DateBoundField(serializers.DateTimeField):
    """An ISO date or datetime. A bare date means the start of that day (UTC), or its end
    when `end=True`, so `to=2026-11-27` includes the whole day."""

    def __init__(self, *, end: bool = False, **kwargs):
        self.end = end
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        if isinstance(value, str) and _DATE.fullmatch(value.strip()):
            day = serializers.DateField().to_internal_value(value.strip())
            return datetime.combine(day, time.max if self.end else time.min, tzinfo=UTC)
        return super().to_internal_value(value)


class PostFilterSerializer(serializers.Serializer):
    """Query parameters of the post list and search."""

    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text='Full-text search in web-search syntax: words, "quoted phrases", `or`, '
        "`-excluded`. Any input is accepted.",
    )
    author = serializers.CharField(
        required=False, allow_blank=True, max_length=150, help_text="A username."
    )

    def get_fields(self):
        # `from` is a Python keyword, so these two are added by name here.
        fields = super().get_fields()
        fields["from"] = DateBoundField(
            required=False, help_text="Posts created at or after this date or datetime."
        )
        fields["to"] = DateBoundField(
            end=True,
            required=False,
            help_text="Posts created at or before this datetime, or during this date.",
        )
        return fields

    def validate(self, attrs):
        start, end = attrs.get("from"), attrs.get("to")
        if start and end and start > end:
            raise serializers.ValidationError({"from": ["`from` must not be after `to`."]})
        return attrs
