from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import filters, generics, status
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import selectors, services
from accounts.authentication import CheckAheadMixin, JWTAuthentication
from accounts.models import AccountSession, Role
from accounts.serializers import (
    AvatarUploadSerializer,
    LoginSerializer,
    LogoutSerializer,
    PasswordChangeSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserAccessSerializer,
    UserPublicSerializer,
    UserSelfSerializer,
    UserUpdateSerializer,
)
from common.pagination import PageNumberPagination
from common.permissions import IsAdmin
from common.schema import (
    BAD_REQUEST,
    FORBIDDEN,
    NOT_FOUND,
    THROTTLED,
    UNAUTHORIZED,
)


class RegisterView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(
        tags=["auth"],
        summary="Create an account",
        description="Anyone may register as a `user`; only a signed-in admin may create an "
        "`admin`. Usernames are unique whatever their case.",
        request=RegisterSerializer,
        responses={201: UserSelfSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 429: THROTTLED},
    )
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["role"] == Role.ADMIN and not request.user.is_staff:
            raise PermissionDenied("Only an admin may create an admin account.")
        user = services.user_register(**data)
        user = selectors.user_with_counts(user=user)
        return Response(
            UserSelfSerializer(user, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(
    tags=["auth"],
    summary="Sign in",
    responses={200: TokenPairSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED, 429: THROTTLED},
)
class LoginView(jwt_views.TokenObtainPairView):
    serializer_class = LoginSerializer
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"


@extend_schema(
    tags=["auth"],
    summary="Get a new token pair",
    description="Refresh tokens rotate: the one sent is blacklisted and a new pair returned, "
    "of the same session. A token of a session that was signed out (or ended by a password "
    "change or a suspension) is refused.",
    responses={200: TokenPairSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED},
)
class RefreshView(jwt_views.TokenRefreshView):
    pass


class LogoutView(APIView):
    # The refresh token is the credential here: a stale or signed-out access token in the
    # header must not stop a client from revoking its session, so authentication is tried
    # in the view, and a valid access token is signed out with its session too.
    authentication_classes = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request):
        # A bad refresh token stays a 401, as on the other token endpoints.
        return 'Bearer realm="api"'

    @staticmethod
    def _caller(request):
        """`(user, access token)` when the header holds a valid access token, else None."""
        try:
            return JWTAuthentication().authenticate(request)
        except (AuthenticationFailed, InvalidToken):
            return None

    @extend_schema(
        tags=["auth"],
        summary="Sign out",
        description="Ends the session of the refresh token sent, and the session of the "
        "access token in the `Authorization` header when there is a valid one: their "
        "refresh token can never be used again, their access tokens are refused from now "
        "on (not only when they expire), and the websockets they opened are closed (code "
        "4401). With `all: true`, every session of the account ends, wherever it signed "
        "in. An expired or already signed-out access token in the header is ignored; "
        "without a valid one, `refresh` is required.",
        request=LogoutSerializer,
        # The bearer token is optional here.
        auth=[{"jwtAuth": []}, {}],
        responses={204: None, 400: BAD_REQUEST, 401: UNAUTHORIZED},
    )
    def post(self, request):
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        caller = self._caller(request)
        if "refresh" not in data and caller is None:
            raise ValidationError({"refresh": ["This field is required."]})
        refresh = None
        if "refresh" in data:
            try:
                refresh = RefreshToken(data["refresh"])
            except TokenError as exc:
                raise InvalidToken(exc.args[0]) from exc
        services.sign_out(
            refresh=refresh, access=caller[1] if caller else None, everywhere=data["all"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "password_change"

    @extend_schema(
        tags=["users"],
        summary="Change your password",
        description="Needs the current password. Every other session of the account ends: "
        "its refresh and access tokens are refused from now on and its websockets are "
        "closed (code 4401). The session that made the call goes on with the tokens it "
        "has. Throttled per user (`THROTTLE_PASSWORD_CHANGE_RATE`, 5 an hour by default), "
        "failed attempts included.",
        request=PasswordChangeSerializer,
        responses={
            204: None,
            400: OpenApiResponse(
                BAD_REQUEST.response,
                description='`{"old_password": [...]}` when the current password is wrong; '
                '`{"new_password": [...]}` when the new one is too weak (too short, too '
                "common, all digits, or too close to the username).",
            ),
            401: UNAUTHORIZED,
            429: THROTTLED,
        },
    )
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        services.user_change_password(
            user=request.user,
            new_password=serializer.validated_data["new_password"],
            keep_session_id=AccountSession.id_of(request.auth),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    def _render(self, request):
        user = selectors.user_with_counts(user=request.user)
        return Response(UserSelfSerializer(user, context={"request": request}).data)

    @extend_schema(
        tags=["users"],
        summary="Your account",
        responses={200: UserSelfSerializer, 401: UNAUTHORIZED},
    )
    def get(self, request):
        return self._render(request)

    @extend_schema(
        tags=["users"],
        summary="Edit your profile",
        request=UserUpdateSerializer,
        responses={200: UserSelfSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED},
    )
    def patch(self, request):
        serializer = UserUpdateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        services.user_update(user=request.user, data=serializer.validated_data)
        return self._render(request)

    @extend_schema(
        tags=["users"],
        summary="Delete your account",
        description="Deletes the account with its posts, follows and notifications; "
        "its tokens stop working.",
        responses={204: None, 401: UNAUTHORIZED},
    )
    def delete(self, request):
        services.user_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Room for the multipart envelope around the file (boundaries, headers, a filename).
MULTIPART_SLACK = 64 * 1024


class AvatarView(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=["users"],
        summary="Upload your profile picture",
        description="Multipart field `avatar`. The content must decode as a JPEG, PNG, WebP or "
        "GIF picture within the size and pixel limits; it is stored without metadata as a "
        "square WebP under a random name.",
        request={"multipart/form-data": AvatarUploadSerializer},
        responses={
            200: UserSelfSerializer,
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            503: OpenApiResponse(description="The media store failed; nothing was saved."),
        },
    )
    def put(self, request):
        # Refuse an oversize body by its length before parsing it; a body over every
        # endpoint's limit is not even read (common.bodies). The pipeline checks the file's
        # real size too.
        announced = request.META.get("CONTENT_LENGTH") or "0"
        if announced.isdigit() and int(announced) > settings.AVATAR_MAX_BYTES + MULTIPART_SLACK:
            raise ValidationError(
                {"avatar": [f"The file is larger than {settings.AVATAR_MAX_BYTES // 1024} KiB."]}
            )
        serializer = AvatarUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.avatar_set(user=request.user, upload=serializer.validated_data["avatar"])
        user = selectors.user_with_counts(user=request.user)
        return Response(UserSelfSerializer(user, context={"request": request}).data)

    @extend_schema(
        tags=["users"],
        summary="Remove your profile picture",
        request=None,
        responses={204: None, 401: UNAUTHORIZED},
    )
    def delete(self, request):
        services.avatar_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    tags=["users"],
    summary="All accounts (admins)",
    responses={200: UserSelfSerializer(many=True), 401: UNAUTHORIZED, 403: FORBIDDEN},
)
class UserListView(generics.ListAPIView):
    permission_classes = [IsAdmin]
    serializer_class = UserSelfSerializer
    pagination_class = PageNumberPagination
    filter_backends = [filters.SearchFilter]
    search_fields = ["username", "email"]

    def get_queryset(self):
        return selectors.user_list()


class UserDetailView(CheckAheadMixin, APIView):
    permission_classes = [IsAuthenticated]

    def get_permissions(self):
        if self.request.method == "PATCH":
            return [IsAdmin()]
        return super().get_permissions()

    @extend_schema(
        tags=["users"],
        summary="A public profile",
        responses={200: UserPublicSerializer, 401: UNAUTHORIZED, 404: NOT_FOUND},
    )
    def get(self, request, username: str):
        user = selectors.user_profile(username=username, viewer=request.user)
        if user is None:
            raise Http404
        return Response(UserPublicSerializer(user, context={"request": request}).data)

    @extend_schema(
        tags=["users"],
        summary="Change an account's role or active flag (admins)",
        description="An admin cannot take away their own admin role or deactivate their own "
        "account (`400`); another admin can.",
        request=UserAccessSerializer,
        responses={
            200: UserSelfSerializer,
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def patch(self, request, username: str):
        user = selectors.user_for_admin(username=username)
        if user is None:
            raise Http404
        serializer = UserAccessSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.user_set_access(user=user, by=request.user, **serializer.validated_data)
        user = selectors.user_for_admin(username=username)
        return Response(UserSelfSerializer(user, context={"request": request}).data)


class UserScopedListView(generics.ListAPIView):
    """A list that belongs to the user named in the URL. The user is matched inside the page
    query; only an empty page costs a second query, to tell "no rows" from "no such user"."""

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        if not response.data["results"] and not selectors.user_exists(
            username=self.kwargs["username"], viewer=request.user
        ):
            raise Http404
        return response
