import re
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import AuthorSerializer, author_representation
from posts.models import Post
from posts.selectors import NO_FLAGS, PostRow, ViewerFlags, flags_of

_timestamp = serializers.DateTimeField()
_ZERO = timedelta(0)


def timestamp(value) -> str:
    """A datetime as the API writes it: ISO 8601 in UTC, as DRF's DateTimeField writes it."""
    return timestamp_writer()(value)


def timestamp_writer():
    """`timestamp` for the current time zone, looked up once for a whole page.

    Times come from the database in UTC, and the project's time zone is UTC: for those the
    field's conversions change nothing, and ISO 8601 with `Z` is written directly (a page
    of posts spent more time here than in its query)."""
    if timezone.get_current_timezone() is timezone.get_default_timezone() and (
        settings.TIME_ZONE == "UTC"
    ):
        return _utc_timestamp
    return _timestamp.to_representation


def _utc_timestamp(value) -> str:
    if value and value.utcoffset() == _ZERO:
        return f"{value.isoformat()[:-6]}Z"
    return _timestamp.to_representation(value)


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class AuthorRefSerializer(serializers.Serializer):
    """An account named in a post's text."""

    id = serializers.IntegerField()
    username = serializers.CharField()


class _PostFields(serializers.ModelSerializer):
    """The fields of a post, for the schema; posts are rendered by `render_posts`."""

    author = AuthorSerializer(read_only=True)
    reply_to = serializers.IntegerField(
        source="reply_to_id", allow_null=True, help_text="The post this one replies to."
    )
    reply_to_username = serializers.CharField(
        allow_null=True, help_text="The author of the post replied to."
    )
    conversation = serializers.IntegerField(help_text="The id of the thread's root post.")
    reply_count = serializers.IntegerField()
    like_count = serializers.IntegerField()
    repost_count = serializers.IntegerField()
    mentions = AuthorRefSerializer(many=True, help_text="Existing accounts named as @username.")
    hashtags = serializers.ListField(
        child=serializers.CharField(), help_text="The #tags, lower-cased, in order of first use."
    )
    liked = serializers.BooleanField(
        help_text="Whether you liked it (the original's, on a repost)."
    )
    reposted = serializers.BooleanField(help_text="Whether you reposted it.")
    bookmarked = serializers.BooleanField(help_text="Whether you bookmarked it.")

    class Meta:
        model = Post
        fields = [
            "id",
            "author",
            "text",
            "created_at",
            "reply_to",
            "reply_to_username",
            "conversation",
            "repost_of",
            "reply_count",
            "like_count",
            "repost_count",
            "mentions",
            "hashtags",
            "liked",
            "reposted",
            "bookmarked",
        ]
        read_only_fields = fields


@extend_schema_field(
    {"type": "object", "nullable": True, "description": "Always null: an original is no repost."}
)
class _NoRepostField(serializers.Field):
    pass


class OriginalPostSerializer(_PostFields):
    """The original of a repost."""

    repost_of = _NoRepostField(read_only=True)


class PostListSerializer(serializers.ListSerializer):
    """A page of posts: what the requester did to them is read once for the whole page."""

    def to_representation(self, data):
        rows = [item if isinstance(item, PostRow) else PostRow.of(item) for item in data]
        return render_posts(rows, request=self.context.get("request"))


class PostSerializer(_PostFields):
    repost_of = OriginalPostSerializer(
        read_only=True, allow_null=True, help_text="The original, when this post is a repost."
    )

    class Meta(_PostFields.Meta):
        list_serializer_class = PostListSerializer

    def to_representation(self, post):
        """With `flags` in the context, what the requester did to the post is not read."""
        row = post if isinstance(post, PostRow) else PostRow.of(post)
        return render_posts(
            [row], request=self.context.get("request"), flags=self.context.get("flags")
        )[0]


def render_posts(rows: list[PostRow], *, request=None, flags: ViewerFlags | None = None) -> list:
    """Posts as the API shows them, with what the requester did to each: read with the rows,
    or one query for the flags of the whole list (none when `flags` are given or nobody is
    signed in)."""
    if flags is None:
        flags = flags_of(rows, getattr(request, "user", None))
    stamp = timestamp_writer()
    return [post_representation(row, flags=flags, request=request, stamp=stamp) for row in rows]


def post_representation(
    row: PostRow, *, flags: ViewerFlags = NO_FLAGS, request=None, stamp=None
) -> dict:
    """One post as the API shows it. Takes a PostRow, so that rows fetched without model
    instances (the feed's) render exactly as model instances do. `stamp` writes its time
    (`timestamp_writer()` unless given)."""
    if stamp is None:
        stamp = timestamp_writer()
    original = row.repost_of
    original_id = row.original_id
    return {
        "id": row.id,
        "author": author_representation(
            user_id=row.author_id,
            username=row.username,
            display_name=row.display_name,
            avatar=row.avatar,
            request=request,
        ),
        "text": row.text,
        "created_at": stamp(row.created_at),
        "reply_to": row.reply_to_id,
        "reply_to_username": row.reply_to_username,
        "conversation": row.conversation or row.id,
        "repost_of": (
            post_representation(original, flags=flags, request=request, stamp=stamp)
            if original
            else None
        ),
        "reply_count": row.reply_count,
        "like_count": row.like_count,
        "repost_count": row.repost_count,
        "mentions": row.mentions,
        "hashtags": row.hashtags,
        "liked": original_id in flags.liked,
        "reposted": original_id in flags.reposted,
        "bookmarked": original_id in flags.bookmarked,
    }


class PostCreateSerializer(serializers.Serializer):
    text = serializers.CharField(
        max_length=settings.POST_MAX_LENGTH,
        trim_whitespace=True,
        help_text=f"1 to {settings.POST_MAX_LENGTH} characters after trimming.",
    )
    reply_to = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**63 - 1,
        help_text="The id of the post this one replies to.",
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


class TrendingTagSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The tag, lower-cased, without `#`.")
    posts = serializers.IntegerField(help_text="Posts carrying it in the last 24 h.")
    authors = serializers.IntegerField(help_text="Accounts that used it in the last 24 h.")
