import contextvars
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
# The account's fields, in the order `User.from_db` takes them.
ACCOUNT_FIELDS = [field.attname for field in User._meta.concrete_fields]


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
        ahead = _ahead.get()
        if kept is not None and ahead is not None:
            # Answered with the kept account; `CheckAhead` has the answer thrown away and the
            # request answered again, checked here, unless the state confirms it.
            ahead.defer(session_id, user_id, kept[0], token)
            return User.from_db(connection.alias, ACCOUNT_FIELDS, kept[1])
        if kept is not None:
            with connection.cursor() as cursor:
                cursor.execute(STATE_SQL, [session_id, user_id])
                state = cursor.fetchone()
            if state is None:
                self._refuse(False, False, False)
            version, active, valid_after, session_live = state
            if version == kept[0]:
                if session_id is None:  # rare: tokens issued before sessions existed
                    live = User.sessionless_token_valid(token, valid_after)
                else:
                    live = session_live
                self._refuse(True, active, live)
                # A fresh instance each request: views may change and save it.
                return User.from_db(connection.alias, ACCOUNT_FIELDS, kept[1])
        # Not seen yet, or changed since: the whole row, in the same one statement.
        user = self._load(ROW_SQL, [session_id, user_id], session_id, token)
        _accounts.put(user_id, (user.row_version, tuple(getattr(user, f) for f in ACCOUNT_FIELDS)))
        return user


# The `CheckAhead` of the request being answered, where its view allows one.
_ahead: contextvars.ContextVar = contextvars.ContextVar("warble_check_ahead", default=None)


class CheckAhead:
    """The account's state read by the view's first statement instead of one of its own,
    for views that change nothing (`CheckAheadMixin`).

    Authentication answers with the account the process keeps and leaves the state
    statement (`STATE_SQL`) to the view. A list that can carry it (`fold`, the lists of
    posts) reads it in the same statement as its page; before any other statement, and at
    the latest when the view has answered, it is read on its own, as the ordinary check
    would have read it first. The view's answer stands only if the account's row is
    unchanged, active and its session live, exactly what `JWTAuthentication` checks;
    otherwise it is thrown away and the request answered again the ordinary way, which
    refuses the account (the same 401) or reads it again."""

    def __init__(self):
        self.params: list | None = None  # the state statement's, while it is unread
        self.state: tuple | None = None
        self.expected = self.token = None
        self.sessionless = self.folding = False

    def defer(self, session_id: int | None, user_id: int, version: int, token) -> None:
        self.params, self.expected, self.token = [session_id, user_id], version, token
        self.sessionless = session_id is None

    def fold(self, sql: str, params: list, order_by: str) -> tuple[str, list] | None:
        """`sql` (a query whose rows are never all null, ordered by `order_by` over its
        columns as `q`) made to read the state too, or None when the state is read."""
        if self.params is None:
            return None
        folded = (
            f"SELECT s.*, q.* FROM ({STATE_SQL}) s "  # noqa: S608 (no input in the text)
            f"LEFT JOIN ({sql}) q ON true ORDER BY {order_by}"
        )
        return folded, self.params + params

    def unfold(self, rows: list[tuple]) -> list[tuple]:
        """The rows of a folded statement as the statement's own; the state is kept."""
        self.params = None
        width = 4  # STATE_SQL's columns
        self.state = rows[0][:width] if rows else None
        return [row[width:] for row in rows if row[width] is not None]

    def read(self) -> None:
        """The state, read by its own statement (once)."""
        params, self.params = self.params, None
        if params is not None:
            with connection.cursor() as cursor:
                cursor.execute(STATE_SQL, params)
                self.state = cursor.fetchone()

    def __call__(self, execute, sql, params, many, context):
        """Django's execute wrapper: a statement that does not carry the state comes after it."""
        if not self.folding:
            self.read()
        return execute(sql, params, many, context)

    def confirmed(self, failing: bool = False) -> bool:
        """Whether the kept account the request was answered with is the account now. For
        a request `failing` already, a state that cannot be read confirms it: its own
        failure is the answer."""
        if self.expected is None:
            return True  # not used: the request was checked the ordinary way
        try:
            self.read()
        except Exception:
            if failing:
                return True
            raise
        if self.state is None:
            return False
        version, active, valid_after, live = self.state
        if self.sessionless:  # rare: tokens issued before sessions existed
            live = User.sessionless_token_valid(self.token, valid_after)
        return version == self.expected and active and live


def ahead() -> CheckAhead | None:
    """The request's `CheckAhead`, while its state is unread."""
    check = _ahead.get()
    return check if check is not None and check.params is not None else None


def fetch_ahead(sql: str, params: list, order_by: str) -> list[tuple]:
    """The rows of `sql` (as `CheckAhead.fold` takes it), reading the request's account
    state in the same statement while it is unread."""
    check = ahead()
    folded = check.fold(sql, params, order_by) if check else None
    with connection.cursor() as cursor:
        if not folded:
            cursor.execute(sql, params)
            return cursor.fetchall()
        check.folding = True
        try:
            cursor.execute(*folded)
        finally:
            check.folding = False
        return check.unfold(cursor.fetchall())


class CheckAheadMixin:
    """For views whose GET changes nothing: the account's state is read by the view's first
    statement (`CheckAhead`)."""

    def dispatch(self, request, *args, **kwargs):
        if request.method not in ("GET", "HEAD") or connection.vendor != "postgresql":
            return super().dispatch(request, *args, **kwargs)
        check = CheckAhead()
        token = _ahead.set(check)
        try:
            with connection.execute_wrapper(check):
                try:
                    response = super().dispatch(request, *args, **kwargs)
                except Exception:
                    # A view may fail on an account that is gone (a 500 where the ordinary
                    # check answers 401): the failure stands only for a confirmed account.
                    if check.confirmed(failing=True):
                        raise
                else:
                    if check.confirmed():
                        return response
        finally:
            _ahead.reset(token)
        # Answered with an account that is not the account now: answered again, checked
        # first, as every other view is.
        return super().dispatch(request, *args, **kwargs)
