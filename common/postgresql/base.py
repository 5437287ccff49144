"""Django's PostgreSQL backend, with its psycopg pool replaced by `RecoveringPool` and its
timestamp loader by `IsoTimestamptzLoader`.

Django builds the pool itself (`DatabaseWrapper.pool`) and offers no setting for its class,
so this backend builds it the way Django does, from the same `OPTIONS["pool"]`; it gives
connections Django's adapters with the one loader replaced, and leaves everything else to
Django's backend. Every process type (gunicorn, uvicorn, daphne, the
fan-out worker) gets it through `DATABASES`.
"""

import functools
import logging
import select
from datetime import datetime
from time import monotonic

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base
from psycopg import OperationalError, adapt
from psycopg.types.datetime import TimestamptzLoader
from psycopg_pool import ConnectionPool, PoolTimeout

logger = logging.getLogger(__name__)


def check_idle(connection) -> None:
    """Raise if a pooled connection taken from the pool is not usable; the check of
    `CONN_HEALTH_CHECKS`.

    An idle connection's socket has nothing to read unless the server wrote to it
    unasked: a server that ends the session (a restart, a failover, `pg_terminate_backend`)
    sends its error and closes, and a backend that dies closes. So a socket with nothing to
    read is a connection in working order, found without a round trip; one with something
    to read is checked as psycopg's pool checks (`check_connection`, an empty query), which
    raises for a session the server ended and passes for anything else it may have sent (a
    notice, a changed parameter). A server whose host vanished without closing answers
    neither check; the statement that follows then fails as it would after an empty query
    that was answered just before."""
    if connection.closed:
        raise OperationalError("the connection is closed")
    if not hasattr(select, "poll"):  # Windows: no poll(), and select() is for sockets < 1024
        ConnectionPool.check_connection(connection)
        return
    poll = select.poll()
    poll.register(connection.fileno(), select.POLLIN)
    if poll.poll(0):
        ConnectionPool.check_connection(connection)


class RecoveringPool(ConnectionPool):
    """psycopg's pool, where the first connection that fails its check (`check_idle` as it
    is taken, Django's `CONN_HEALTH_CHECKS`) has every idle connection checked at once
    (psycopg's `check()`: one empty query each).

    After a restart or a failover every connection made before it is dead. psycopg's pool
    finds that out one connection at a time, and a request that meets a second dead one in
    a row waits out the rest of its timeout (the pool pauses between failed checks), so it
    fails although the server answers. Checking the idle ones together (`check()`: dead
    ones are replaced at once, working ones stay) leaves the request waiting only for a new
    connection, a few milliseconds.

    The other half, that a request never waits for a reconnection attempt sleeping out its
    backoff (1 s, then 2 s ...), is the setting `reconnect_timeout=0`
    (DATABASE_RECONNECT_TIMEOUT): a failed attempt is retried once at once and given up, so
    the next request that finds no connection starts a new attempt itself (psycopg's pool
    grows for a request that finds none), and a request already waiting asks again every
    RETRY_INTERVAL (`getconn`).
    """

    # While a request waits for a connection that is being made, it asks again this often.
    RETRY_INTERVAL = 0.2

    def __init__(self, *args, check=None, **kwargs):
        self._check_taken = check
        super().__init__(*args, check=self.check_taken if check else None, **kwargs)

    def check_taken(self, connection) -> None:
        try:
            self._check_taken(connection)
        except Exception:
            logger.info("a pooled connection failed its check: checking every idle one")
            self.check()
            raise

    def getconn(self, timeout: float | None = None):
        """A connection within `timeout` (the pool's by default). While the pool has room
        for more connections, a request that waits asks again every RETRY_INTERVAL: the
        pool starts a connection attempt for a request that finds none, so one waiting
        since before the server came back gets a connection within RETRY_INTERVAL of it,
        instead of failing after its whole wait. When every connection is in use (no
        attempt to make), it waits for one to be returned, from the back of the queue after
        its first RETRY_INTERVAL."""
        timeout = self.timeout if timeout is None else timeout
        deadline = monotonic() + timeout
        try:
            while deadline - monotonic() > self.RETRY_INTERVAL:
                try:
                    return super().getconn(self.RETRY_INTERVAL)
                except PoolTimeout:
                    stats = self.get_stats()
                    if stats["pool_size"] >= stats["pool_max"]:
                        break
            return super().getconn(max(deadline - monotonic(), 0.001))
        except PoolTimeout:
            raise PoolTimeout(f"couldn't get a connection after {timeout:.2f} sec") from None


class IsoTimestamptzLoader(TimestamptzLoader):
    """Django's loader of `timestamptz` values (its `BaseTzLoader`: psycopg's, with the
    result given the connection's time zone), parsing PostgreSQL's ISO text with Python's
    `datetime.fromisoformat` (C) instead of psycopg's pure-Python regular expression: 3.2
    against 9.1 us a value, 23 values a page of posts. Text it does not read (years past
    9999 or BC, `infinity`, a DateStyle other than ISO) goes to psycopg's loader, which
    reads it or raises as it did."""

    timezone = None  # Django compares it with the connection's (`create_cursor`)

    def load(self, data) -> datetime:
        try:
            value = datetime.fromisoformat(bytes(data).decode())
            if value.tzinfo is not self._timezone:  # as psycopg's: in the session's zone
                value = value.astimezone(self._timezone)
        except (ValueError, OverflowError):
            value = super().load(data)
        return value.replace(tzinfo=self.timezone)


@functools.lru_cache
def adapters_template(use_tz: bool, timezone) -> adapt.AdaptersMap:
    """Django's adapters for a connection (`get_adapters_template`), with its timestamptz
    loader replaced by `IsoTimestamptzLoader` for the same time zone."""
    context = adapt.AdaptersMap(base.get_adapters_template(use_tz, timezone))
    loader = type("SpecificIsoTimestamptzLoader", (IsoTimestamptzLoader,), {"timezone": timezone})
    context.register_loader("timestamptz", loader)
    return context


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        params["context"] = adapters_template(settings.USE_TZ, self.timezone)
        return params

    @property
    def pool(self):
        options = self.settings_dict["OPTIONS"].get("pool")
        if options and self.alias != NO_DB_ALIAS and self.alias not in self._connection_pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
            # As Django's own property builds it (django/db/backends/postgresql/base.py).
            kwargs = self.get_connection_params()
            kwargs["autocommit"] = True
            pool = RecoveringPool(
                kwargs=kwargs,
                open=False,
                configure=self._configure_connection,
                check=check_idle if self.settings_dict["CONN_HEALTH_CHECKS"] else None,
                **({} if options is True else options),
            )
            self._connection_pools.setdefault(self.alias, pool)
        return super().pool
