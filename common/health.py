"""Liveness and readiness, answered before anything else looks at the request.

Probes come from inside the container or cluster with whatever Host header they have;
answering here, ahead of Django's host validation and the HTTPS redirect, keeps them
working once ALLOWED_HOSTS and HTTPS are set for the public name.

`database_error` and `broker_error` are also what `manage.py wait_for_services` waits on.
"""

import logging
import math
import os
from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import JsonResponse

logger = logging.getLogger(__name__)

# Seconds a readiness check may wait for each service: an orchestrator's probe gives up after
# a few seconds, and DATABASE_POOL_TIMEOUT (how long a request waits for a pooled
# connection) is longer.
CHECK_TIMEOUT = 2.0


def describe_failure(
    exc: BaseException, *, timeout: float, secrets: Iterable[str | None] = ()
) -> str:
    """One line saying why a service did not answer, with the given secrets blanked (as
    they are and percent-encoded, as URLs hold them)."""
    replies = [arg.reply_text for arg in exc.args if getattr(arg, "reply_text", None)]
    if replies:
        # The broker closed the connection with a reason (a missing vhost, say).
        text = replies[0]
    elif isinstance(exc, TimeoutError) and not str(exc):
        text = f"no answer within {round(timeout, 1):g}s"
    elif isinstance(exc, OSError) and exc.errno and exc.errno > 0 and exc.strerror:
        # aiormq keeps the errno but words its message "Connect call failed (host, port)".
        reason = os.strerror(exc.errno)
        text = exc.strerror if reason in exc.strerror else f"{exc.strerror}: {reason}"
    else:
        text = str(exc) or type(exc).__name__
    text = " ".join(text.split())
    for secret in filter(None, secrets):
        for form in sorted(
            {secret, quote(secret, safe=""), unquote(secret)}, key=len, reverse=True
        ):
            text = text.replace(form, "***")
    return text


def database_error(timeout: float = CHECK_TIMEOUT) -> str | None:
    """None when the default database runs `SELECT 1`, else why it did not.

    On PostgreSQL the check opens a connection of its own, bounded by `connect_timeout`
    (whole seconds, at least 2, as libpq counts them): a connection from Django's pool would
    wait DATABASE_POOL_TIMEOUT, and would say nothing of a server its idle connections
    outlived.
    """
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        if connection.vendor == "postgresql":
            params = connection.get_connection_params()
            params["connect_timeout"] = max(2, math.ceil(timeout))
            with psycopg.connect(**params, autocommit=True) as direct:
                direct.execute("SELECT 1")
        else:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
    except Exception as exc:
        if connection.vendor != "postgresql":
            connection.close()
        return describe_failure(
            exc, timeout=timeout, secrets=[connection.settings_dict.get("PASSWORD")]
        )
    return None


def broker_error(timeout: float = CHECK_TIMEOUT) -> str | None:
    """None when the broker (RABBITMQ_URL) accepts a connection and a channel, else why not."""
    from common import transport

    try:
        transport.publisher().check(timeout)
    except Exception as exc:
        password = urlsplit(settings.RABBITMQ_URL).password
        return describe_failure(exc, timeout=timeout, secrets=[password])
    return None


def readiness() -> tuple[int, dict]:
    """Database and (when configured) broker reachable: 200, else 503 naming the failure."""
    services = {"database": database_error}
    if settings.RABBITMQ_URL:
        services["broker"] = broker_error
    checks = {}
    for name, check in services.items():
        error = check(CHECK_TIMEOUT)
        if error is not None:
            logger.warning("readiness: %s unavailable: %s", name, error)
        checks[name] = "ok" if error is None else "unavailable"
    ready = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return (200 if ready else 503), body


class HealthMiddleware:
    """`GET /healthz` (the process is alive) and `GET /readyz` (it can serve)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            return self._respond(200, {"status": "ok"})
        if request.path == "/readyz":
            return self._respond(*readiness())
        return self.get_response(request)

    @staticmethod
    def _respond(status: int, body: dict) -> JsonResponse:
        response = JsonResponse(body, status=status)
        response["Cache-Control"] = "no-store"
        return response
