"""Requests around `pg_ctl restart -m fast`: which ones, sent after the server answers again,
still fail.

Starts a PostgreSQL cluster of its own (initdb into a temporary directory, the first free
port from 9400; as root its commands run as `postgres`), the API on it as the drill runs it
(gunicorn, 2 workers, DATABASE_POOL_MAX_SIZE=4), three clients (feed, unread count,
sign-in, 0.1-0.3 s apart), and restarts the server --rounds times, each after a burst of 12
concurrent feeds has grown the workers' pools (as a busier moment would). For each restart
it prints the non-2xx answers to requests that overlapped it and to requests sent after
`pg_ctl` returned, and the slowest 2xx sent after.

    .venv/bin/python bench/pool_restart.py                      # this checkout
    .venv/bin/python bench/pool_restart.py --root /path/to/other/checkout --rounds 6
"""

import argparse
import contextlib
import glob
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psycopg

BIN = Path(sys.executable).parent


def free_port(start: int) -> int:
    for port in range(start, start + 300):
        with socket.socket() as sock, contextlib.suppress(OSError):
            sock.bind(("127.0.0.1", port))
            return port
    raise RuntimeError(f"no free port from {start}")


class Cluster:
    def __init__(self):
        versions = sorted(
            glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2])
        )
        self.bin = Path(versions[-1])
        self.directory = Path(tempfile.mkdtemp(prefix="warble-pool-restart-"))
        self.data, self.port = self.directory / "data", free_port(9400)
        self.url = f"postgres://postgres@127.0.0.1:{self.port}"
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def pg_ctl(self, *args: str) -> float:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [*self.as_owner, str(self.bin / "pg_ctl"), "-D", str(self.data),
             "-l", str(self.directory / "log"), "-o", options, "-m", "fast", "-w", *args],
            check=True, capture_output=True,
        )  # fmt: skip
        return time.monotonic()

    def init(self) -> None:
        if self.as_owner:
            shutil.chown(self.directory, "postgres", "postgres")
        subprocess.run(
            [*self.as_owner, str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
             "--auth=trust", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        self.pg_ctl("start")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.pg_ctl("stop")
        shutil.rmtree(self.directory, ignore_errors=True)


def http(method: str, url: str, token=None, body=None):
    request = urllib.request.Request(
        url, data=json.dumps(body).encode() if body is not None else None, method=method
    )
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    root = Path(args.root)
    cluster = Cluster()
    cluster.init()
    api_process = None
    try:
        with psycopg.connect(f"{cluster.url}/postgres", autocommit=True) as connection:
            connection.execute("CREATE DATABASE warble")
        port = free_port(9500)
        env = {
            "PATH": f"{BIN}:/usr/bin:/bin", "HOME": tempfile.gettempdir(),
            "DATABASE_URL": f"{cluster.url}/warble", "SECRET_KEY": uuid.uuid4().hex * 2,
            "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING",
            "THROTTLE_LOGIN_RATE": "100000/min", "THROTTLE_REGISTER_RATE": "100000/min",
            "DATABASE_POOL_MAX_SIZE": "4", "SERVER_ADDRESS": "127.0.0.1",
            "SERVER_PORT": str(port), "WEB_CONCURRENCY": "2", "PYTHONPATH": str(root),
        }  # fmt: skip
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=root, env=env, check=True
        )
        api_process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "config/gunicorn.py", "config.wsgi"],
            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        api = f"http://127.0.0.1:{port}"
        for _ in range(150):
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{api}/healthz", timeout=1):
                break
            time.sleep(0.2)
        name, password = f"u{uuid.uuid4().hex[:6]}", f"pw-{uuid.uuid4().hex}"
        credentials = {"username": name, "password": password}
        assert http("POST", f"{api}/api/auth/register/", None, credentials)[0] == 201
        token = http("POST", f"{api}/api/auth/login/", None, credentials)[1]["access"]
        calls = [
            ("GET", "/api/feed/", token, None),
            ("GET", "/api/notifications/unread-count/", token, None),
            ("POST", "/api/auth/login/", None, credentials),
        ]
        records, stop = [], threading.Event()

        def client():
            while not stop.is_set():
                method, path, auth, body = random.choice(calls)
                sent = time.monotonic()
                try:
                    status = http(method, api + path, auth, body)[0]
                except OSError as exc:
                    status = repr(exc)
                records.append((sent, time.monotonic() - sent, status))
                time.sleep(random.uniform(0.1, 0.3))

        def burst():
            threads = [
                threading.Thread(target=http, args=("GET", f"{api}/api/feed/", token))
                for _ in range(12)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        clients = [threading.Thread(target=client) for _ in range(3)]
        for thread in clients:
            thread.start()
        time.sleep(2)
        restarts = []
        for _ in range(args.rounds):
            burst()
            time.sleep(1)
            down = time.monotonic()
            restarts.append((down, cluster.pg_ctl("restart")))
            time.sleep(5)
        stop.set()
        for thread in clients:
            thread.join()
    finally:
        if api_process:
            api_process.terminate()
            api_process.wait()
        cluster.destroy()

    late_total = 0
    for down, back in restarts:

        def rel(rows, back=back):
            return [(round(s - back, 2), round(d, 2), st) for s, d, st in rows]

        overlapping = rel(r for r in records if r[0] < back and r[0] + r[1] >= down and r[2] != 200)
        after = [r for r in records if back <= r[0] < back + 5]
        late = rel(r for r in after if r[2] != 200)
        slowest = max((r for r in after if r[2] == 200), key=lambda r: r[1], default=None)
        print(
            f"restart {back - down:.2f} s: non-2xx overlapping it {overlapping}; non-2xx sent "
            f"after pg_ctl returned {late}; slowest 2xx sent after "
            f"{rel([slowest])[0][:2] if slowest else None} (sent s after, seconds)"
        )
        late_total += len(late)
    print(f"{len(records)} requests; non-2xx sent after pg_ctl returned: {late_total}")
    return 1 if late_total else 0


if __name__ == "__main__":
    sys.exit(main())
