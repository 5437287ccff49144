from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.validators import ASCIIUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.storage import default_storage
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers
from rest_framework_simplejwt import serializers as jwt_serializers

from accounts import services
from accounts.models import RESERVED_USERNAMES, Role, User
from accounts.services import USERNAME_TAKEN
from common.urls import absolute_url


@extend_schema_field({"type": "string", "format": "uri", "nullable": True})
class AvatarUrlField(serializers.Field):
    """The avatar's absolute URL, or null."""

    def __init__(self, **kwargs):
        kwargs.setdefault("source", "avatar")
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return avatar_url(value.name, self.context.get("request"))


def validate_username_available(value: str, instance: User | None = None) -> str:
    if value.lower() in RESERVED_USERNAMES:
        raise serializers.ValidationError("This username is reserved.")
    clash = User.objects.by_username(value)
    if instance is not None:
        clash = clash.exclude(pk=instance.pk)
    if clash.exists():
        raise serializers.ValidationError(USERNAME_TAKEN)
    return value


class UsernameField(serializers.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 150)
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault(
            "help_text", "ASCII letters, digits and @/./+/-/_ only; unique whatever its case."
        )
        super().__init__(**kwargs)
        self.validators.append(ASCIIUsernameValidator())


def avatar_url(name: str, request=None) -> str | None:
    """The absolute URL of a stored avatar file, or None."""
    return absolute_url(default_storage.url(name), request) if name else None


def author_representation(
    *, user_id: int, username: str, display_name: str, avatar: str, request=None
) -> dict:
    """The short public form of a user, as embedded in posts and events."""
    return {
        "id": user_id,
        "username": username,
        "display_name": display_name,
        "avatar_url": avatar_url(avatar, request),
    }


def author_of(user: User, request=None) -> dict:
    """The short public form of an account instance (`author_representation` of its
    fields)."""
    return author_representation(
        user_id=user.pk,
        username=user.username,
        display_name=user.display_name,
        avatar=user.avatar.name,
        request=request,
    )


class AuthorSerializer(serializers.ModelSerializer):
    """The short public form of a user embedded in posts and events."""

    avatar_url = AvatarUrlField()

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "avatar_url"]
        read_only_fields = fields

    def to_representation(self, user):
        # The declared fields document the shape; it is built directly because it is
        # repeated for every post of every page.
        return author_of(user, self.context.get("request"))


class UserPublicSerializer(serializers.ModelSerializer):
    """A user as anyone signed in sees them. Counts come annotated by the selector."""

    avatar_url = AvatarUrlField()
    followers_count = serializers.IntegerField(read_only=True)
    following_count = serializers.IntegerField(read_only=True)
    posts_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "display_name",
            "bio",
            "avatar_url",
            "followers_count",
            "following_count",
            "posts_count",
            "date_joined",
        ]
        read_only_fields = fields


class UserSelfSerializer(UserPublicSerializer):
    """A user as they themselves, or an admin, see them."""

    role = serializers.ChoiceField(choices=Role.choices, read_only=True)
    email = serializers.CharField(read_only=True, help_text="Empty when not set.")

    class Meta(UserPublicSerializer.Meta):
        fields = [*UserPublicSerializer.Meta.fields, "email", "role", "is_active"]
        read_only_fields = fields


class RegisterSerializer(serializers.Serializer):
    username = UsernameField()
    password = serializers.CharField(
        write_only=True, max_length=128, style={"input_type": "password"}
    )
    email = serializers.EmailField(required=False, allow_blank=True, default="", max_length=254)
    display_name = serializers.CharField(
        required=False, allow_blank=True, max_length=50, default=""
    )
    role = serializers.ChoiceField(choices=Role.choices, required=False, default=Role.USER)

    def validate_username(self, value):
        return validate_username_available(value)

    def validate(self, attrs):
        candidate = User(
            username=attrs["username"], email=attrs["email"], display_name=attrs["display_name"]
        )
        try:
            password_validation.validate_password(attrs["password"], candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        return attrs


class UserUpdateSerializer(serializers.Serializer):
    username = UsernameField(required=False)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    display_name = serializers.CharField(required=False, allow_blank=True, max_length=50)
    bio = serializers.CharField(required=False, allow_blank=True, max_length=160)

    def validate_username(self, value):
        return validate_username_available(value, instance=self.context["request"].user)


class UserAccessSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)


class AvatarUploadSerializer(serializers.Serializer):
    avatar = serializers.FileField(
        help_text=(
            "A JPEG, PNG, WebP or GIF picture of at most "
            f"{settings.AVATAR_MAX_BYTES // (1024 * 1024)} MiB; stored as a square WebP."
        ),
        allow_empty_file=False,
    )


class LoginSerializer(jwt_serializers.TokenObtainPairSerializer):
    @classmethod
    def get_token(cls, user):
        # Every sign-in is a session of its own: its tokens carry the session's id.
        return services.session_start(user=user)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    """Refresh with rotation within the token's session. A token of a session that was
    signed out, or of a deleted or inactive account, is a 401."""

    def validate(self, attrs):
        refresh = self.token_class(attrs["refresh"])
        try:
            return services.session_refresh(refresh=refresh)
        except (User.DoesNotExist, services.SessionEnded) as exc:
            raise exceptions.AuthenticationFailed(
                self.error_messages["no_active_account"], "no_active_account"
            ) from exc


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(
        write_only=True,
        required=False,
        help_text="The session's refresh token. Required unless a valid access token "
        "authenticates the call.",
    )
    all = serializers.BooleanField(
        write_only=True,
        default=False,
        help_text="Sign out every session of the account, not only this one.",
    )


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(
        write_only=True, max_length=128, style={"input_type": "password"}
    )
    new_password = serializers.CharField(
        write_only=True,
        max_length=128,
        style={"input_type": "password"},
        help_text="Checked by the same validators as at registration.",
    )

    def validate_old_password(self, value):
        if not self.context["request"].user.check_password(value):
            raise serializers.ValidationError("The current password is not correct.")
        return value

    def validate_new_password(self, value):
        try:
            password_validation.validate_password(value, self.context["request"].user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(list(exc.messages)) from exc
        return value
