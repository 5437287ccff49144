"""Backing services that are down: telling an outage apart from a bug, answering it with a
retryable 503, and logging it once per outage rather than once per request or retry.

A request that cannot reach the database answers `503` with `Retry-After` and a JSON body
(from `DatabaseUnavailableMiddleware`, or from `handler500` when the failure happened
outside a view). Background loops (the fan-out worker, the websocket consumers) report the
same failures through `database_outage`, which logs the first one and, once a connection is
made again, how long the outage lasted.
"""

import logging
import threading
import time

from django.db import InterfaceError, OperationalError
from django.db.backends.signals import connection_created
from django.http import JsonResponse

logger = logging.getLogger("warble.availability")

# Seconds a client is told to wait before retrying: long enough for a restart or a failover
# to finish, short enough that a client does not stay away long after it.
RETRY_AFTER = 5
UNAVAILABLE_DETAIL = "The service is temporarily unavailable; try again later."


def is_database_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` says the database could not be reached or used (connection refused or
    lost, no pooled connection in time, the server shutting down), as opposed to a bug.
    psycopg's pool timeout and lost connections reach Django as these two classes."""
    return isinstance(exc, OperationalError | InterfaceError)


def unavailable_response(detail: str = UNAVAILABLE_DETAIL) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    # Django would log every 5xx at ERROR (with the traceback when raised outside a view);
    # an outage is logged once by `database_outage`, and each request by common.logging.
    response._has_been_logged = True
    return response


class Outage:
    """Per-process state of one dependency: `down()` logs the first failure of an outage
    (later ones are not logged again), `up()` logs the recovery and its duration."""

    def __init__(self, name: str):
        self.name = name
        self._since: float | None = None
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self._since is not None

    def down(self, exc: BaseException) -> None:
        with self._lock:
            if self._since is not None:
                return
            self._since = time.monotonic()
        error = " ".join(str(exc).split()) or type(exc).__name__
        logger.warning(
            "%s unavailable: %s; retrying until it answers",
            self.name,
            error,
            extra={"dependency": self.name, "error": error},
        )

    def up(self) -> None:
        if self._since is None:  # the common case: no lock taken
            return
        with self._lock:
            if self._since is None:
                return
            lasted, self._since = time.monotonic() - self._since, None
        logger.info(
            "%s available again after %.1fs",
            self.name,
            lasted,
            extra={"dependency": self.name, "outage_s": round(lasted, 1)},
        )


database_outage = Outage("database")
# RabbitMQ, as the fan-out worker and the live sends meet it (the web publisher keeps its
# own state in common.transport).
broker_outage = Outage("broker")


def _connected(sender, connection, **kwargs) -> None:
    # Sent each time Django takes a connection (from the pool, too): the database is back.
    database_outage.up()


# Connected when the app registry is ready (common.apps), in every kind of process.
connection_created.connect(_connected, dispatch_uid="warble.availability")


class DatabaseUnavailableMiddleware:
    """Turns a database outage met by a view into `503` + `Retry-After` + JSON: a client
    should retry, not report a bug. Other exceptions go on to Django's handling."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_unavailable(exception):
            return None
        database_outage.down(exception)
        return unavailable_response()
