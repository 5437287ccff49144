"""Structured request logging: one line per request, with a request id, never a secret.

The line carries the method, the path without its query string (where browsers put websocket
tokens), the status, the duration and the user id. `LOG_FORMAT=json` prints each record as
one JSON object.
"""

import contextvars
import json
import logging
import re
import time
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.db import DatabaseError

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
logger = logging.getLogger("warble.request")

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


def new_request_id(incoming: str | None = None) -> str:
    """Take a well-formed incoming id (from a proxy) or make a new one."""
    if incoming and _VALID_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


_SECRET_QUERY = re.compile(r"((?:token|access|refresh|password)=)[^&\s\"']+", re.IGNORECASE)


class RedactSecrets(logging.Filter):
    """Blanks token and password values in query strings, whoever logs them (the servers
    log websocket paths with their query string, where browsers put the access token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _SECRET_QUERY.search(message):
            record.msg, record.args = _SECRET_QUERY.sub(r"\1[redacted]", message), ()
        return True


class ExpectedFaults(logging.Filter):
    """Keeps the log readable through a broker or database outage and a normal stop.

    - The AMQP and pool libraries log each failed reconnection attempt, several with a
      traceback and at ERROR (channels_rabbitmq every second). Their lines lose the
      traceback, become warnings, and each kind of line is shown once per `window` seconds;
      common.availability logs each outage and its end once.
    - gunicorn logs a worker that stopped on SIGTERM (a normal stop, sent by the arbiter
      or an orchestrator) as `ERROR ... was sent SIGTERM!`: that line becomes INFO.
    """

    RETRY_LOGGERS = ("aiormq", "aio_pika", "channels_rabbitmq", "carehare", "psycopg.pool")
    _GRACEFUL_STOP = re.compile(r"^Worker \(pid:\d+\) was sent (SIGTERM|SIGINT|SIGQUIT)!$")

    def __init__(self, window: float = 60.0):
        super().__init__()
        self.window = window
        self._shown: dict[tuple[str, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "gunicorn.error" and record.levelno >= logging.ERROR:
            if self._GRACEFUL_STOP.match(record.getMessage()):
                record.levelno, record.levelname = logging.INFO, "INFO"
            return True
        if record.levelno < logging.WARNING or not record.name.startswith(self.RETRY_LOGGERS):
            return True
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        key, now = (record.name, str(record.msg)), time.monotonic()
        if now - self._shown.get(key, -self.window) < self.window:
            return False
        self._shown[key] = now
        return True


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def logging_config(level: str, log_format: str, loggers: dict | None = None) -> dict:
    """The `logging.config.dictConfig` of every process: one console handler, redacted,
    with request ids, text or JSON. Django's settings and gunicorn's master use it."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "common.logging.RequestIdFilter"},
            "redact": {"()": "common.logging.RedactSecrets"},
            "expected_faults": {"()": "common.logging.ExpectedFaults"},
        },
        "formatters": {
            "text": {
                "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
            },
            "json": {"()": "common.logging.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if log_format == "json" else "text",
                "filters": ["expected_faults", "redact", "request_id"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": loggers or {},
    }


class RequestLogMiddleware:
    """Logs each HTTP request once and tags every log line of it with a request id."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        token, started = self._start(request)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        return self._finish(request, response, started)

    async def __acall__(self, request):
        token, started = self._start(request)
        try:
            response = await self.get_response(request)
        finally:
            request_id_var.reset(token)
        return self._finish(request, response, started)

    def _start(self, request):
        request.request_id = new_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        return request_id_var.set(request.request_id), time.perf_counter()

    def _finish(self, request, response, started):
        response["X-Request-ID"] = request.request_id
        # DRF authenticates inside the view; its user is copied back onto the Django request.
        # A session user not loaded yet is loaded here, which fails while the database is
        # down: the request is logged without it.
        try:
            user = getattr(request, "user", None)
            authenticated = getattr(user, "is_authenticated", False)
        except DatabaseError:
            user, authenticated = None, False
        user_id = getattr(user, "pk", None) if authenticated else None
        logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "request_id": request.request_id,
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "user_id": user_id,
            },
        )
        return response
