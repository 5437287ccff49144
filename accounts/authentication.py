import threading
from collections import OrderedDict

from django.db import connection
from django.utils.timezone import now
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
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
# On PostgreSQL, once a process has read an account, a request asks only for the account's
# row version (`xmin`, which every UPDATE of the row changes), whether it is active and
# whether the session lives; the account itself is built from the copy the process kept,
# and read again (a second statement) only after the row changed. Loading the whole row
# through the ORM's raw() machinery cost three times this query (docs/benchmarks.md, "The
# read path").
ROW_SQL = (
    f"SELECT u.*, u.xmin::text::bigint AS row_version,"  # noqa: S608
    f" EXISTS (SELECT 1 FROM {_SESSIONS} s WHERE s.id = %s AND s.user_id = u.id)"
    f" AS session_live FROM {_USERS} u WHERE u.id = %s"
)
STATE_SQL = (
    f"SELECT u.xmin::text::bigint, u.is_active, u.sessions_valid_after,"  # noqa: S608
    f" EXISTS (SELECT 1 FROM {_SESSIONS} s WHERE s.id = %s AND s.user_id = u.id)"
    f" FROM {_USERS} u WHERE u.id = %s"
)


class _Bounded(OrderedDict):
    """A small least-recently-used map, shared by the threads of a process."""

    def __init__(self, size: int):
        super().__init__()
        self.size, self.lock = size, threading.Lock()

    def get_recent(self, key):
        with self.lock:
            value = super().get(key)
            if value is not None:
                self.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self.lock:
            self[key] = value
            self.move_to_end(key)
            while len(self) > self.size:
                self.popitem(last=False)


# Signature checks are kept per token: the same bytes always decode to the same claims, and
# the expiry is checked again on every request.
_tokens = _Bounded(4096)
# Accounts by id: (row version, field values).
_accounts = _Bounded(4096)
_FIELDS = [field.attname for field in User._meta.concrete_fields]


def forget() -> None:
    """Drop what the process keeps of tokens and accounts."""
    _tokens.clear()
    _accounts.clear()


class JWTAuthentication(authentication.JWTAuthentication):
    """Simple JWT's authentication, with the `Bearer` scheme matched in any case, as HTTP
    auth schemes are (RFC 9110), and tokens that end with their session.

    A token's session (its `sid` claim) must still exist: signing out deletes the row, so
    the token is refused from the next request on, on every process. The check is in the
    one query of the request's authentication, so it adds no query. A token without a
    session is refused once issued at or before the account's `sessions_valid_after`."""

    def get_raw_token(self, header: bytes) -> bytes | None:
        parts = header.split()
        if len(parts) == 2 and parts[0].lower() == b"bearer":
            return parts[1]
        return super().get_raw_token(header)

    def get_validated_token(self, raw_token: bytes):
        token = _tokens.get_recent(raw_token)
        if token is not None:
            try:
                token.check_exp(current_time=now())
            except TokenError:
                pass  # expired since: validated afresh below, which refuses it in full
            else:
                return token
        token = super().get_validated_token(raw_token)
        _tokens.put(raw_token, token)
        return token

    def get_user(self, validated_token) -> User:
        try:
            user_id = int(validated_token[api_settings.USER_ID_CLAIM])
            session_id = AccountSession.id_of(validated_token)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc
        if connection.vendor == "postgresql":
            user = self._user_by_row_version(user_id, session_id, validated_token)
        else:
            user = self._user_by_row(user_id, session_id, validated_token)
        return user

    @staticmethod
    def _refuse(found: bool, active: bool, live: bool) -> None:
        if not found:
            raise AuthenticationFailed("User not found", code="user_not_found")
        if not active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        if not live:
            raise AuthenticationFailed("The session has ended.", code="session_ended")

    def _user_by_row(self, user_id: int, session_id: int | None, token) -> User:
        if session_id is None:
            return self._load(USER_SQL, [user_id], session_id, token)
        return self._load(USER_AND_SESSION_SQL, [session_id, user_id], session_id, token)

    def _load(self, sql: str, params: list, session_id: int | None, token) -> User:
        """The account read whole, with its session check (`session_live`) when it has one."""
        user = next(iter(User.objects.raw(sql, params)), None)
        if user is None:
            self._refuse(False, False, False)
        if session_id is not None:
            live = user.session_live
        else:
            live = user.accepts_sessionless_token(token)
        self._refuse(True, user.is_active, live)
        return user

    def _user_by_row_version(self, user_id: int, session_id: int | None, token) -> User:
        kept = _accounts.get_recent(user_id)
        if kept is not None:
            with connection.cursor() as cursor:
                cursor.execute(STATE_SQL, [session_id, user_id])
                state = cursor.fetchone()
            if state is None:
                self._refuse(False, False, False)
            version, active, valid_after, session_live = state
            if version == kept[0]:
                if session_id is None:  # rare: tokens issued before sessions existed
                    live = User(sessions_valid_after=valid_after).accepts_sessionless_token(token)
                else:
                    live = session_live
                self._refuse(True, active, live)
                # A fresh instance each request: views may change and save it.
                return User.from_db(connection.alias, _FIELDS, kept[1])
        # Not seen yet, or changed since: the whole row, in the same one statement.
        user = self._load(ROW_SQL, [session_id, user_id], session_id, token)
        _accounts.put(user_id, (user.row_version, tuple(getattr(user, f) for f in _FIELDS)))
        return user
