"""Websocket authentication and origin checks.

The access token comes from an `Authorization: Bearer <token>` header (non-browser clients)
or a `?token=` query parameter (browsers cannot set headers on a websocket). It is validated
exactly as the REST API validates it: signature, expiry, issuer, an existing active user,
and a session that has not been signed out. The token's session id goes into
`scope["session_id"]` (0 for a token without one), so the socket is closed when that session
ends. A browser signed in by the web client's session cookie instead gets session id -1 and
its browser session's number in `scope["web_session"]`, so signing that browser out closes
it. Tokens are never logged.
"""

import json
import logging
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
from accounts.sessions import session_number
from common.availability import (
    RETRY_AFTER,
    UNAVAILABLE_DETAIL,
    database_outage,
    is_database_unavailable,
)

logger = logging.getLogger("warble.websocket")

# The websocket close code for "try again later" (RFC 6455 registry).
CLOSE_TRY_AGAIN_LATER = 1013

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
    (channels' AuthMiddleware, outside this one) stays, with session id 0. While the
    database cannot be reached the handshake is refused as a retryable 503 (see
    `refuse_unavailable`)."""

    async def __call__(self, scope, receive, send):
        token = token_from_scope(scope)
        web_session = 0
        try:
            if token:
                user, session_id = await user_for_token(token)
            else:
                # Signed in by the cookie: no token session (-1 matches no `session.closed`),
                # and the browser session's number, closed by `web_session.closed`.
                user, session_id = _session_user(scope), -1
                if user.is_authenticated:
                    web_session = session_number(getattr(scope.get("session"), "session_key", None))
        except Exception as exc:
            if not is_database_unavailable(exc):
                raise
            database_outage.down(exc)
            return await refuse_unavailable(scope, receive, send)
        return await super().__call__(
            {**scope, "user": user, "session_id": session_id, "web_session": web_session},
            receive,
            send,
        )


def _session_user(scope):
    user = scope.get("user")
    return user if user is not None and user.is_authenticated else AnonymousUser()


async def refuse_unavailable(scope, receive, send) -> None:
    """Refuse a websocket handshake because a backing service is down: an HTTP 503 with
    `Retry-After` and a JSON body where the server supports the ASGI websocket denial
    response (uvicorn), else a plain refusal (daphne answers 403)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})
        return
    body = json.dumps({"detail": UNAVAILABLE_DETAIL}).encode()
    try:
        await send(
            {
                "type": "websocket.http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"retry-after", str(RETRY_AFTER).encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})
    except RuntimeError as exc:
        # A server that stops meanwhile answers the handshake itself (uvicorn: a 500) and
        # refuses the answer sent after it (the consumer's accept meets the same).
        logger.info("websocket handshake ended by the server before it was refused: %s", exc)


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
