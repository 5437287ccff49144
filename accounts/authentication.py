from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings

from accounts.models import AccountSession, User

# Every authenticated request runs one of these. Raw SQL because the ORM's compilation of
# the same query (an annotated EXISTS) cost more than the query itself: 0.4-0.7 ms a
# request in bench/sessions.py, where this costs less than the plain `objects.get()`.
_USERS = f'"{User._meta.db_table}"'
_SESSIONS = f'"{AccountSession._meta.db_table}"'
USER_SQL = f"SELECT u.* FROM {_USERS} u WHERE u.id = %s"  # noqa: S608 (no user input)
USER_AND_SESSION_SQL = (
    f"SELECT u.*, EXISTS (SELECT 1 FROM {_SESSIONS} s WHERE s.id = %s AND s.user_id = u.id)"  # noqa: S608
    f" AS session_live FROM {_USERS} u WHERE u.id = %s"
)


class JWTAuthentication(authentication.JWTAuthentication):
    """Simple JWT's authentication, with the `Bearer` scheme matched in any case, as HTTP
    auth schemes are (RFC 9110), and tokens that end with their session.

    A token's session (its `sid` claim) must still exist: signing out deletes the row, so
    the token is refused from the next request on, on every process. The check is an
    EXISTS in the one query that loads the user, so it adds no query. A token without a
    session is refused once issued at or before the account's `sessions_valid_after`."""

    def get_raw_token(self, header: bytes) -> bytes | None:
        parts = header.split()
        if len(parts) == 2 and parts[0].lower() == b"bearer":
            return parts[1]
        return super().get_raw_token(header)

    def get_user(self, validated_token) -> User:
        try:
            user_id = int(validated_token[api_settings.USER_ID_CLAIM])
            session_id = AccountSession.id_of(validated_token)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc
        if session_id is None:
            user = next(iter(User.objects.raw(USER_SQL, [user_id])), None)
        else:
            user = next(iter(User.objects.raw(USER_AND_SESSION_SQL, [session_id, user_id])), None)
        if user is None:
            raise AuthenticationFailed("User not found", code="user_not_found")
        if not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        if session_id is not None:
            live = user.session_live
        else:
            live = user.accepts_sessionless_token(validated_token)
        if not live:
            raise AuthenticationFailed("The session has ended.", code="session_ended")
        return user
