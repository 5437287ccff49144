"""Liveness and readiness, answered before anything else looks at the request.

Probes come from inside the container or cluster with whatever Host header they have;
answering here, ahead of Django's host validation and the HTTPS redirect, keeps them
working once ALLOWED_HOSTS and HTTPS are set for the public name.
"""

import logging

from django.db import connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.warning("readiness: database unreachable", exc_info=True)
        return False


def readiness() -> tuple[int, dict]:
    """Database and (when configured) broker reachable: 200, else 503 naming the failure."""
    from notifications import transport

    checks = {"database": "ok" if database_ok() else "unavailable"}
    broker = transport.broker_status()
    if broker is not None:
        checks["broker"] = "ok" if broker else "unavailable"
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
