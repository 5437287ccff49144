"""Websocket authentication and origin checks.

The access token comes from an `Authorization: Bearer <token>` header (non-browser clients)
or a `?token=` query parameter (browsers cannot set headers on a websocket). It is validated
exactly as the REST API validates it: signature, expiry, issuer, an existing active user,
and a session that has not been signed out. The token's session id goes into
`scope["session_id"]` (0 for a token without one), so the socket is closed when that session
ends. Tokens are never logged.
"""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from accounts.authentication import JWTAuthentication
from accounts.models import AccountSession

_authentication = JWTAuthentication()


def token_from_scope(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            parts = value.decode("latin-1").split()
            if len(parts) == 2 and parts[0].lower() == "bearer":
                return parts[1]
            return None
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    tokens = query.get("token")
    return tokens[0] if tokens else None


@database_sync_to_async
def user_for_token(raw_token: str) -> tuple:
    """`(user, session id)` for a valid token (session 0: a token without one), else
    `(AnonymousUser, 0)`."""
    try:
        validated = _authentication.get_validated_token(raw_token.encode())
        return _authentication.get_user(validated), AccountSession.id_of(validated) or 0
    except (InvalidToken, TokenError, AuthenticationFailed):
        return AnonymousUser(), 0


class JWTAuthMiddleware(BaseMiddleware):
    """Puts the token's user (or AnonymousUser) in `scope["user"]` and its session id in
    `scope["session_id"]`. Without a token, a user already signed in by the session cookie
    (channels' AuthMiddleware, outside this one) stays, with session id 0."""

    async def __call__(self, scope, receive, send):
        token = token_from_scope(scope)
        if token:
            user, session_id = await user_for_token(token)
        else:
            user, session_id = _session_user(scope), 0
        return await super().__call__(
            {**scope, "user": user, "session_id": session_id}, receive, send
        )


def _session_user(scope):
    user = scope.get("user")
    return user if user is not None and user.is_authenticated else AnonymousUser()


class BrowserOriginValidator(OriginValidator):
    """Checks the Origin header that browsers send; clients that send none (non-browser
    clients, which cannot be driven by a hostile page) are let through to authentication."""

    def valid_origin(self, parsed_origin):
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)


def origin_checked(application):
    return BrowserOriginValidator(
        application, [*settings.ALLOWED_HOSTS, *settings.WEBSOCKET_ALLOWED_ORIGINS]
    )
