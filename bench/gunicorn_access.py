"""What gunicorn's access log costs a request when nothing writes it.

Given a logging configuration (`logconfig_dict`, as `config/gunicorn.py` gives it),
gunicorn's `Logger.access` builds every request's access-log fields (each environ entry,
each header, the time formatted) before handing them to its `gunicorn.access` logger, even
when that logger writes nowhere. This times that call for a home feed request's environ
and response headers, with gunicorn's own logger and with the one `config/gunicorn.py`
sets (`logger_class`), in one process, medians of --rounds runs of --number calls.

    .venv/bin/python bench/gunicorn_access.py
"""

import argparse
import datetime
import statistics
import sys
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Response:
    status = "200 OK"
    headers = [
        ("Content-Type", "application/json"),
        ("Vary", "Accept, origin"),
        ("Allow", "GET, HEAD, OPTIONS"),
        ("X-Frame-Options", "DENY"),
        ("Content-Length", "9512"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("X-Request-ID", "4f7d3c1e9a2b4c6d8e0f1a2b3c4d5e6f"),
    ]
    sent = response_length = 9512


class Request:
    method, path, query, uri, version = "GET", "/api/feed/", "", "/api/feed/", (1, 1)
    headers = [
        ("HOST", "127.0.0.1:8000"),
        ("AUTHORIZATION", "Bearer " + "x" * 220),
        ("USER-AGENT", "client/1.0"),
        ("ACCEPT", "application/json"),
    ]


ENVIRON = {
    "REQUEST_METHOD": "GET",
    "PATH_INFO": "/api/feed/",
    "QUERY_STRING": "",
    "RAW_URI": "/api/feed/",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1",
    "REMOTE_PORT": "50512",
    "SERVER_NAME": "127.0.0.1",
    "SERVER_PORT": "8000",
    "SCRIPT_NAME": "",
    "HTTP_HOST": "127.0.0.1:8000",
    "HTTP_AUTHORIZATION": "Bearer " + "x" * 220,
    "HTTP_USER_AGENT": "client/1.0",
    "HTTP_ACCEPT": "application/json",
    "wsgi.url_scheme": "http",
    "wsgi.version": (1, 0),
    "wsgi.multithread": False,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
    "wsgi.input_terminated": True,
    "SERVER_SOFTWARE": "gunicorn",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--number", type=int, default=20_000)
    args = parser.parse_args()
    from gunicorn import glogging
    from gunicorn.app.wsgiapp import WSGIApplication

    sys.argv = ["gunicorn", "-c", str(ROOT / "config" / "gunicorn.py"), "config.wsgi"]
    cfg = WSGIApplication().cfg  # the settings as gunicorn reads them, logging configured
    took = datetime.timedelta(microseconds=1500)
    for name, logger in (
        ("gunicorn's Logger", glogging.Logger(cfg)),
        ("config/gunicorn.py's", cfg.logger_class(cfg)),
    ):
        runs = timeit.repeat(
            lambda logger=logger: logger.access(Response, Request, ENVIRON, took),
            number=args.number,
            repeat=args.rounds,
        )
        print(f"{name}: {statistics.median(runs) / args.number * 1e6:.2f} us a request")


if __name__ == "__main__":
    main()
