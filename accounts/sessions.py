"""Browser sessions (the web client's sign-in): Django's database sessions, with the account
the session signs in as kept in a column of the row, so that the session and its account are
read by one statement per request instead of two.

The row is still read on every request, so a session ends at once on every process when it
is signed out (its row is deleted), when the password changes (Django's session hash), when
the account is deleted (the row goes with it) or suspended (inactive accounts are refused).
Nothing is kept between requests.

- `SessionStore` (`SESSION_ENGINE = "accounts.sessions"`) reads the row and the account
  together, and keeps the account on the store for the request;
- `SessionAccountBackend` (Django's ModelBackend) hands that account to Django's own
  `auth.get_user`, which still checks the session hash, instead of reading it again;
- `AuthenticationMiddleware` (Django's) lets the backend see the request's store while
  Django loads the user.
"""

import contextvars
import functools
import hashlib

from django.contrib import auth
from django.contrib.auth import SESSION_KEY
from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from common.middleware import BrowserOnly


def session_number(session_key: str | None) -> int:
    """A positive 62-bit number that names a browser session in events and on its sockets
    (events carry integers; the key itself never leaves the database and the cookie)."""
    if not session_key:
        return 0
    digest = hashlib.sha256(session_key.encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> 2) or 1


# The session store of the request whose user Django is loading.
_store: contextvars.ContextVar = contextvars.ContextVar("warble_session_store", default=None)


@functools.cache
def _statement() -> tuple[str, list[str]]:
    """The one statement (fixed, so prepared once per connection) and the account's fields."""
    from accounts.models import User, WebSession

    fields = User._meta.concrete_fields
    columns = ", ".join(f'u."{field.column}"' for field in fields)
    sql = (
        f"SELECT s.session_data, {columns}"  # noqa: S608 - no input in the text
        f' FROM "{WebSession._meta.db_table}" s'
        f' LEFT JOIN "{User._meta.db_table}" u ON u.id = s.user_id'
        " WHERE s.session_key = %s AND s.expire_date > %s"
    )
    return sql, [field.attname for field in fields]


class SessionStore(db.SessionStore):
    """Django's database session store on `WebSession`, whose reads bring the account."""

    account = None

    @classmethod
    def get_model_class(cls):
        from accounts.models import WebSession

        return WebSession

    def _get_session_from_db(self):
        from accounts.models import User

        self.account = None
        key = self.session_key  # None when the cookie's key is malformed
        row = None
        if key is not None:
            sql, attnames = _statement()
            alias = router.db_for_read(self.model)
            with connections[alias].cursor() as cursor:
                cursor.execute(sql, [key, timezone.now()])
                row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        if row[1] is not None:
            self.account = User.from_db(alias, attnames, row[1:])
        return self.model(session_key=key, session_data=row[0])

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        session.user_id = _account_id(data)
        return session

    async def acreate_model_instance(self, data):
        session = await super().acreate_model_instance(data)
        session.user_id = _account_id(data)
        return session


def _account_id(data: dict) -> int | None:
    """The id of the account a session's data signs in as, if any."""
    try:
        return int(data[SESSION_KEY])
    except (KeyError, TypeError, ValueError):
        return None


class SessionAccountBackend(ModelBackend):
    """Django's ModelBackend; while Django loads a request's user, the account its session
    row was read with is used rather than read again."""

    def get_user(self, user_id):
        store = _store.get()
        account = getattr(store, "account", None)
        if account is not None and str(account.pk) == str(user_id):
            return account if self.user_can_authenticate(account) else None
        return super().get_user(user_id)


def _get_user(request):
    if not hasattr(request, "_cached_user"):
        token = _store.set(request.session)
        try:
            request._cached_user = auth.get_user(request)
        finally:
            _store.reset(token)
    return request._cached_user


def request_user(request):
    """The request's user itself rather than the lazy stand-in the middleware puts on
    `request.user` (loaded now if it was not yet): every attribute read through the stand-in
    costs a proxied lookup, and a page reads the user's for each of its cards."""
    user = request.user
    return _get_user(request) if type(user) is SimpleLazyObject else user


class AuthenticationMiddleware(BrowserOnly, auth_middleware.AuthenticationMiddleware):
    """Django's, with the request's session store made visible to SessionAccountBackend
    while the user is loaded; for browsers' pages only (`BrowserOnly`: the API signs in by
    token)."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _get_user(request))
