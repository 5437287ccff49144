"""gunicorn settings for the REST API (`gunicorn -c config/gunicorn.py config.wsgi`)."""

import gc
import json
import os

from gunicorn import glogging, util

from common.logging import logging_config

# The image sets SERVER_ADDRESS=0.0.0.0; on a host the default stays local, as in settings.
bind = f"{os.environ.get('SERVER_ADDRESS', '127.0.0.1')}:{os.environ.get('SERVER_PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", str(2 * (os.cpu_count() or 1))))
# gunicorn's threaded worker, which keeps client connections alive between requests (sync
# workers close each one: 1.3-1.4x the requests per second at the same CPU), answering in
# its main thread when it has one (config/workers.py; docs/benchmarks.md, "The read path").
# One thread each by default: the requests are CPU-bound Python, so more threads per
# process only share its interpreter lock; more workers use more cores.
worker_class = "config.workers.KeepAliveWorker"
threads = int(os.environ.get("WEB_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Search queries may be long once URL-encoded; this is gunicorn's maximum.
limit_request_line = 8190


def write_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own answer to a request it cannot read (a request line past
    `limit_request_line`, a malformed header ...), in the API's error shape instead of its
    HTML page: the same status, `{"detail": ...}` as JSON. gunicorn has no setting for it;
    its workers call `gunicorn.util.write_error`, replaced here in the master process before
    they are forked."""
    body = json.dumps({"detail": f"{reason}: {mesg}"}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


util.write_error = write_error
# Requests are logged once, by the application (common.logging), without query strings.
accesslog = None


class Logger(glogging.Logger):
    """gunicorn's logger without its access log. Given a logging configuration
    (`logconfig_dict` below), gunicorn builds every request's access-log fields (each
    environ entry, each header, the time formatted) before its `gunicorn.access` logger,
    which writes nowhere here, drops the line: 22 us a request (docs/benchmarks.md, "The
    read path")."""

    def access(self, resp, req, environ, request_time) -> None:
        return


logger_class = Logger
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# gunicorn's own lines (start-up, worker boots and timeouts) in the app's format: JSON when
# LOG_FORMAT=json, like every other line.
logconfig_dict = logging_config(
    loglevel.upper(),
    os.environ.get("LOG_FORMAT", "text"),
    {
        "gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": [], "propagate": False},
    },
)


def post_worker_init(worker):
    """The garbage collector set for a worker's steady state, once it has loaded the app.

    What Django loaded (modules, settings, URL patterns, the schema) lives as long as the
    worker: frozen, the collector no longer walks it. Each request leaves some objects in
    reference cycles for the collector (DRF's request and view refer to each other): a
    youngest generation of 20,000 objects instead of 700 collects them every hundred
    requests or so instead of every few. Together 8% fewer instructions a feed request
    (2.5 MB more memory a worker; docs/benchmarks.md, "The read path", fifth run)."""
    gc.freeze()
    gc.set_threshold(20_000, *gc.get_threshold()[1:])
