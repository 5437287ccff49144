"""A WSGI application that tells which process and thread answered it, served by gunicorn
with `config/gunicorn.py` in config/tests/test_gunicorn.py."""

import json
import os
import threading
import time


def application(environ, start_response):
    # `/sleep/<seconds>` answers after that long.
    if environ["PATH_INFO"].startswith("/sleep/"):
        time.sleep(float(environ["PATH_INFO"].removeprefix("/sleep/")))
    body = json.dumps(
        {"pid": os.getpid(), "main_thread": threading.current_thread() is threading.main_thread()}
    ).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
