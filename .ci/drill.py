"""Chaos drill: the production processes ride through database and broker faults.

Starts a PostgreSQL cluster of its own (initdb into a temporary directory, on a free port, so
restarting it disturbs nothing else), the API (gunicorn), a websocket server (uvicorn) and
two fan-out workers, then drives posts, follows, feed reads and websocket clients while it:

1. restarts PostgreSQL (`pg_ctl restart -m fast`);
2. stops PostgreSQL for 10 s and starts it again;
3. sends SIGTERM to a worker and to the websocket server, and starts them again;
4. restarts RabbitMQ (`rabbitmqctl stop_app` / `start_app`): the machine's broker, so this
   comes last and is kept short.

It fails unless: no request answered 500, nor anything but 503 while the database was down
(a request sent after it answered again gets no 503); every post accepted is in the
database with exactly one notification per follower; every websocket client, reconnecting
with `since`, ends with every notification of its user; no process died unless the drill
stopped it; no process logged a traceback or an ERROR line. It prints the counts and the
recovery times (docs/resilience.md) and writes them to DRILL_RESULTS when set.

    .venv/bin/python .ci/drill.py
Environment: DRILL_RABBITMQ (amqp://guest:guest@127.0.0.1:5672/), DRILL_RESULTS (a path).
"""

import asyncio
import contextlib
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import psycopg
import websockets

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BROKER = os.environ.get("DRILL_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672/")
USERS = 8
# A 503 is accepted only for a request sent before the database answered again (pg_ctl
# returned, so the server accepts connections): the pool checks every idle connection once
# one fails its check, and a request that finds no connection starts an attempt at once
# (common/postgresql), so a request sent later has nothing to wait for. No margin.
RECOVERY_GRACE = 0.0
# How long the drill waits for something that should happen within seconds (a process
# answering, every process type working again after a fault, the fan-out catching up): far
# beyond what it takes on an idle machine, so a slow, shared one makes the drill slower,
# never red. Exceeding it is a failure.
PATIENCE = 90.0
# Traffic between one fault's recovery and the next fault: the clients run on the recovered
# system for a while, and the faults' windows never overlap.
STEADY = 2.0
# A 503 must come quickly (the pool waits DATABASE_POOL_TIMEOUT, 1 s, for a connection), not
# after a client's own timeout; the margin is for a busy machine.
SLOW_503 = 5.0
PASSWORD = f"drill-{uuid.uuid4().hex}"
started_at = time.monotonic()


def log(message: str) -> None:
    now = time.strftime("%H:%M:%S")
    print(f"[drill {time.monotonic() - started_at:6.1f}s {now}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- PostgreSQL of our own ------------------------------------------------------------------


class Cluster:
    """A throw-away PostgreSQL cluster. PostgreSQL refuses to run as root: as root, its
    commands run as the `postgres` user."""

    def __init__(self, directory: Path):
        versions = sorted(
            glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2])
        )
        if not versions:
            raise SystemExit("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.bin = Path(versions[-1])
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}"
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_owner, *args], check=True, capture_output=True)  # noqa: S603

    def init(self) -> None:
        if self.as_owner:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        self.start()

    def start(self) -> float:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "pg.log"),
            "-o", options, "-w", "start",
        )  # fmt: skip
        return time.monotonic()

    def stop(self) -> float:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        return time.monotonic()

    def restart(self) -> float:
        # With its log file: a server started on pg_ctl's output would hold our pipe open.
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "pg.log"),
            "-m", "fast", "-w", "restart",
        )  # fmt: skip
        return time.monotonic()

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def sql(self, query: str, params=()) -> list[tuple]:
        with psycopg.connect(f"{self.url}/warble", autocommit=True) as connection:
            cursor = connection.execute(query, params)
            return cursor.fetchall() if cursor.description else []


# --- our processes ---------------------------------------------------------------------------


class Process:
    def __init__(self, name: str, argv: list[str], env: dict, log_dir: Path):
        self.name, self.argv, self.env = name, argv, env
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen | None = None
        self.stopped_by_drill = False

    def start(self) -> "Process":
        output = self.log_path.open("ab")
        self.popen = subprocess.Popen(  # noqa: S603
            self.argv, cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.stopped_by_drill = False
        return self

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM to the process (its whole group, as an orchestrator stops a container)."""
        self.stopped_by_drill = True
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
            raise AssertionError(f"{self.name} did not stop within {timeout}s of SIGTERM") from None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_http(url: str, process: Process, timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.output()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


async def until(condition, what: str, late: list[str]) -> float:
    """Wait until `condition()` holds, checked every 0.2 s; returns the seconds waited. Past
    PATIENCE, `what` is recorded in `late` (a failure of the drill) and the drill goes on."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > PATIENCE:
            late.append(f"{what}: not within {PATIENCE:.0f}s")
            log(f"LATE: {what}")
            break
        await asyncio.sleep(0.2)
    return time.monotonic() - start


# --- the clients -----------------------------------------------------------------------------

# A websocket that could not be opened or was dropped. A server stopping closes a connection
# whose handshake it has not answered (InvalidMessage, an InvalidHandshake): a refusal like
# any other. (InvalidStatus, a refusal with a status, is caught before these.)
REFUSED = (OSError, TimeoutError, websockets.ConnectionClosed, websockets.InvalidHandshake)


def http(method: str, url: str, token: str | None = None, body=None, headers=None):
    request = urllib.request.Request(  # noqa: S310
        url, data=json.dumps(body).encode() if body is not None else None, method=method
    )
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
            raw = response.read()
            return response.status, dict(response.headers), (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = {"not_json": raw[:200].decode(errors="replace")}
        return error.code, dict(error.headers), parsed


class Drive:
    """Records every request the drill makes: (sent at, kind, status, seconds, json body?)."""

    def __init__(self, api: str):
        self.api = api
        self.requests: list[dict] = []
        self.accepted_posts: set[int] = set()
        self.follows: list[tuple[int, int]] = []

    async def call(self, kind: str, method: str, path: str, token=None, body=None, headers=None):
        sent = time.monotonic()
        try:
            status, response_headers, payload = await asyncio.to_thread(
                http, method, f"{self.api}{path}", token, body, headers
            )
        except OSError as exc:
            status, response_headers, payload = f"error: {exc!r}", {}, None
        self.requests.append(
            {
                "sent": sent,
                "kind": kind,
                "status": status,
                "seconds": time.monotonic() - sent,
                "json": payload is None or "not_json" not in payload,
                "retry_after": response_headers.get("Retry-After"),
            }
        )
        return status, payload


class SocketClient:
    """One user's websocket: records every notification id; on any close or refusal it
    reconnects with `since` (the newest id it saw), as the README tells clients to."""

    def __init__(self, user_id: int, token: str):
        self.user_id, self.token = user_id, token
        self.seen: dict[int, float] = {}
        self.connects = 0
        self.refused: Counter = Counter()
        self.task: asyncio.Task | None = None
        self.ws_base = ""
        self.stop = asyncio.Event()

    async def run(self) -> None:
        while not self.stop.is_set():
            since = max(self.seen, default=0)
            url = f"{self.ws_base}/ws/notifications/?token={self.token}&since={since}"
            try:
                async with websockets.connect(url, open_timeout=5, ping_interval=None) as socket_:
                    self.connects += 1
                    while not self.stop.is_set():
                        try:
                            frame = await asyncio.wait_for(socket_.recv(), 0.5)
                        except TimeoutError:
                            continue
                        event = json.loads(frame)
                        if "id" in event:
                            self.seen.setdefault(event["id"], time.monotonic())
            except websockets.InvalidStatus as exc:
                self.refused[exc.response.status_code] += 1
            except REFUSED as exc:
                self.refused[type(exc).__name__] += 1
            if not self.stop.is_set():
                await asyncio.sleep(0.3)


async def handshake_probe(ws_base_ref: list[str], token: str, results: list, stop: asyncio.Event):
    """Opens a websocket every 0.2 s and records whether the handshake succeeded."""
    while not stop.is_set():
        sent = time.monotonic()
        try:
            async with websockets.connect(
                f"{ws_base_ref[0]}/ws/notifications/?token={token}", open_timeout=5
            ):
                outcome = 101
        except websockets.InvalidStatus as exc:
            outcome = exc.response.status_code
        except REFUSED as exc:
            outcome = type(exc).__name__
        results.append((sent, outcome))
        await asyncio.sleep(0.2)


async def poster(drive: Drive, users: list[dict], stop: asyncio.Event) -> None:
    index = 0
    while not stop.is_set():
        user = users[index % len(users)]
        index += 1
        key = uuid.uuid4().hex
        status, body = await drive.call(
            "post",
            "POST",
            "/api/posts/",
            user["token"],
            {"text": f"drill post {index}"},
            {"Idempotency-Key": key},
        )
        if status == 201:
            drive.accepted_posts.add(body["id"])
        await asyncio.sleep(0.1)


async def reader(drive: Drive, users: list[dict], stop: asyncio.Event) -> None:
    index = 0
    while not stop.is_set():
        user = users[index % len(users)]
        index += 1
        await drive.call("feed", "GET", "/api/feed/", user["token"])
        await drive.call("inbox", "GET", "/api/notifications/unread-count/", user["token"])
        await drive.call("sign-in", "POST", "/api/auth/login/", None,
                         {"username": user["username"], "password": PASSWORD})  # fmt: skip
        await asyncio.sleep(0.1)


async def follower(drive: Drive, users: list[dict], pending: list, stop: asyncio.Event) -> None:
    while not stop.is_set() and pending:
        a, b = pending[0]
        status, _ = await drive.call(
            "follow", "POST", f"/api/users/{users[b]['username']}/follow/", users[a]["token"]
        )
        if status in (200, 201):
            pending.pop(0)
            drive.follows.append((a, b))
        await asyncio.sleep(0.7)


# --- the drill -------------------------------------------------------------------------------


def environment(cluster: Cluster, log_dir: Path, queue: str, exchange: str) -> dict:
    """The production processes' settings: the cluster's database, a queue and an exchange
    of their own on the machine's broker."""
    return {
        "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": os.environ.get("HOME", tempfile.gettempdir()),
        "DATABASE_URL": f"{cluster.url}/warble",
        "RABBITMQ_URL": BROKER,
        "POSTS_QUEUE": queue,
        "CHANNEL_LAYER_EXCHANGE": exchange,
        "SECRET_KEY": f"drill-{uuid.uuid4().hex}{uuid.uuid4().hex}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "MEDIA_ROOT": str(log_dir / "media"),
        "LOG_LEVEL": "INFO",
        "PUBLISH_TIMEOUT": "1",
        "THROTTLE_POST_RATE": "100000/min",
        "THROTTLE_LOGIN_RATE": "100000/min",
        "THROTTLE_REGISTER_RATE": "100000/min",
        "DATABASE_POOL_MAX_SIZE": "4",
    }


def api_process(env: dict, port: int, log_dir: Path) -> Process:
    return Process(
        "api",
        [str(BIN / "gunicorn"), "-c", "config/gunicorn.py", "config.wsgi"],
        {**env, "SERVER_ADDRESS": "127.0.0.1", "SERVER_PORT": str(port), "WEB_CONCURRENCY": "2"},
        log_dir,
    )


def worker_process(index: int, env: dict, log_dir: Path) -> Process:
    return Process(
        f"worker-{index}",
        [sys.executable, "manage.py", "fanout_worker", "--sweep-interval", "1",
         "--sweep-grace", "2"],
        env,
        log_dir,
    )  # fmt: skip


def sign_up(api: str, count: int) -> list[dict]:
    """`count` new accounts, signed in: their username, access token and id."""
    users = []
    suffix = uuid.uuid4().hex[:5]
    for index in range(count):
        username = f"drill{index}x{suffix}"
        status, _, body = http(
            "POST", f"{api}/api/auth/register/", None,
            {"username": username, "password": PASSWORD},
        )  # fmt: skip
        assert status == 201, (status, body)
        status, _, tokens = http(
            "POST", f"{api}/api/auth/login/", None,
            {"username": username, "password": PASSWORD},
        )  # fmt: skip
        assert status == 200, (status, tokens)
        status, _, me = http("GET", f"{api}/api/users/me/", tokens["access"])
        users.append({"username": username, "token": tokens["access"], "id": me["id"]})
    return users


async def drill(cluster: Cluster, log_dir: Path) -> dict:
    queue = f"drill-posts-{uuid.uuid4().hex[:8]}"
    exchange = f"warble-drill-{uuid.uuid4().hex[:8]}.groups"
    env = environment(cluster, log_dir, queue, exchange)
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    api_port, ws_port = free_port(), free_port()
    processes = {
        "api": api_process(env, api_port, log_dir),
        "ws": Process(
            "ws",
            [
                str(BIN / "uvicorn"),
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(ws_port),
                "--no-access-log",
                "--ws-per-message-deflate=false",
            ],
            env,
            log_dir,
        ),
    }
    for index in (1, 2):
        processes[f"worker-{index}"] = worker_process(index, env, log_dir)
    api, ws = f"http://127.0.0.1:{api_port}", f"ws://127.0.0.1:{ws_port}"
    results: dict = {"faults": {}}
    try:
        for process in processes.values():
            process.start()
        wait_http(f"{api}/healthz", processes["api"])
        wait_http(f"http://127.0.0.1:{ws_port}/healthz", processes["ws"])
        log("api, ws and two workers are up")

        drive = Drive(api)
        users = sign_up(api, USERS)
        # Half of the follow graph now, the rest while the faults happen.
        pairs = [(a, b) for a in range(USERS) for b in range(USERS) if a != b]
        initial, pending = pairs[::2], pairs[1::2]
        for a, b in initial:
            status, _, _ = http(
                "POST", f"{api}/api/users/{users[b]['username']}/follow/", users[a]["token"]
            )
            assert status == 201
            drive.follows.append((a, b))

        clients = [SocketClient(user["id"], user["token"]) for user in users]
        for client in clients:
            client.ws_base = ws
            client.task = asyncio.create_task(client.run())
        stop = asyncio.Event()
        ws_ref, probes = [ws], []
        tasks = [
            asyncio.create_task(poster(drive, users, stop)),
            asyncio.create_task(reader(drive, users, stop)),
            asyncio.create_task(follower(drive, users, pending, stop)),
            asyncio.create_task(handshake_probe(ws_ref, users[0]["token"], probes, stop)),
        ]
        late: list[str] = []

        def api_ok_since(moment: float) -> bool:
            return any(
                r["sent"] >= moment and isinstance(r["status"], int) and r["status"] < 300
                for r in drive.requests
            )

        def handshake_since(moment: float) -> bool:
            return any(sent >= moment and outcome == 101 for sent, outcome in probes)

        def delivery_since(moment: float) -> bool:
            return any(t >= moment for client in clients for t in client.seen.values())

        async def recovered(moment: float, fault: str) -> None:
            """Every process type works again: the API answers 2xx, the websocket server
            accepts a handshake, and a live event reaches a client, each since `moment`."""
            await until(lambda: api_ok_since(moment), f"{fault}: the API answering 2xx", late)
            await until(lambda: handshake_since(moment), f"{fault}: a ws handshake", late)
            await until(lambda: delivery_since(moment), f"{fault}: a live event", late)
            await asyncio.sleep(STEADY)

        await recovered(time.monotonic(), "start")
        outages = []  # (database down from, database answering again at)

        log("fault 1: pg_ctl restart -m fast")
        down = time.monotonic()
        back = await asyncio.to_thread(cluster.restart)
        outages.append((down, back))
        results["faults"]["postgres_restart_s"] = round(back - down, 2)
        await recovered(back, "fault 1")

        log("fault 2: PostgreSQL stopped for 10 s")
        down = time.monotonic()
        await asyncio.to_thread(cluster.stop)
        await asyncio.sleep(10)
        back = await asyncio.to_thread(cluster.start)
        outages.append((down, back))
        results["faults"]["postgres_stop_s"] = round(back - down, 2)
        await recovered(back, "fault 2")

        log("fault 3: SIGTERM to worker-1 and to the websocket server, then started again")
        consuming = processes["worker-1"].output().count("worker consuming")
        for name in ("worker-1", "ws"):
            code = await asyncio.to_thread(processes[name].terminate)
            results["faults"][f"{name}_exit_code"] = code
            processes[name].start()
        restarted = time.monotonic()
        await asyncio.to_thread(wait_http, f"http://127.0.0.1:{ws_port}/healthz", processes["ws"])
        await until(
            lambda: processes["worker-1"].output().count("worker consuming") > consuming,
            "fault 3: worker-1 consuming again",
            late,
        )
        await recovered(restarted, "fault 3")

        log("fault 4: rabbitmqctl stop_app / start_app")
        broker_down = time.monotonic()
        await asyncio.to_thread(
            subprocess.run, ["rabbitmqctl", "-q", "stop_app"], check=True, capture_output=True
        )
        await asyncio.sleep(2)
        await asyncio.to_thread(
            subprocess.run, ["rabbitmqctl", "-q", "start_app"], check=True, capture_output=True
        )
        broker_back = time.monotonic()
        results["faults"]["rabbitmq_restart_s"] = round(broker_back - broker_down, 2)
        await recovered(broker_back, "fault 4")

        stop.set()
        await asyncio.gather(*tasks)
        log("driving stopped; waiting for the fan-out to finish")
        expected = await asyncio.to_thread(wait_fanned_out, cluster, PATIENCE)
        # Every client reconnects once more with `since`, as after any interruption.
        for client in clients:
            client.stop.set()
        await asyncio.gather(*(client.task for client in clients))
        for client in clients:
            client.stop.clear()
            client.task = asyncio.create_task(client.run())
        await asyncio.to_thread(wait_delivered, cluster, clients, PATIENCE)
        for client in clients:
            client.stop.set()
        await asyncio.gather(*(client.task for client in clients))

        results.update(
            verdict(drive, clients, probes, outages, (broker_down, broker_back), cluster, expected)
        )
        results["failures"].extend(late)
    finally:
        for name, process in processes.items():
            if process.popen is not None:
                results.setdefault("unexpected_exits", [])
                if not process.alive() and not process.stopped_by_drill:
                    results["unexpected_exits"].append(name)
                code = process.terminate()
                results.setdefault("exit_codes", {})[name] = code
        results["logs"] = log_findings(processes)
        with contextlib.suppress(Exception):
            await delete_broker_objects(queue, exchange)
    return results


def wait_fanned_out(cluster: Cluster, timeout: float) -> list[tuple]:
    """Wait until every post is published and has one notification per follower it had when
    it was posted; return the per-post `(post id, followers, notifications)`."""
    query = """
        SELECT p.id,
               (SELECT COUNT(*) FROM follows_follow f
                 WHERE f.followee_id = p.author_id AND f.created_at <= p.created_at),
               (SELECT COUNT(*) FROM notifications_notification n
                 WHERE n.post_id = p.id AND n.type = 'post.created'),
               p.published_at IS NOT NULL
        FROM posts_post p ORDER BY p.id
    """
    deadline = time.monotonic() + timeout
    while True:
        rows = cluster.sql(query)
        if all(followers == notified and published for _, followers, notified, published in rows):
            return rows
        if time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def wait_delivered(cluster: Cluster, clients: list[SocketClient], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(missing(cluster, client) == set() for client in clients):
            return
        time.sleep(0.5)


def missing(cluster: Cluster, client: SocketClient) -> set[int]:
    rows = cluster.sql(
        "SELECT id FROM notifications_notification WHERE recipient_id = %s", [client.user_id]
    )
    return {row[0] for row in rows} - set(client.seen)


def verdict(drive, clients, probes, outages, broker_window, cluster, expected) -> dict:
    failures = []

    def outage_of(request: dict):
        """The outage a request overlapped (sent before the database answered again, and
        still running when it went down)."""
        for down, back in outages:
            if (
                request["sent"] <= back + RECOVERY_GRACE
                and request["sent"] + request["seconds"] >= down
            ):
                return down, back
        return None

    statuses = Counter(str(request["status"]) for request in drive.requests)
    bad = []
    for request in drive.requests:
        status = request["status"]
        if status == 503:
            outside = outage_of(request) is None
            if outside or not request["retry_after"] or not request["json"]:
                bad.append(request)
        elif not isinstance(status, int) or status >= 500 or status == 429:
            bad.append(request)
    if bad:
        failures.append(f"{len(bad)} requests failed outside the outages or not as 503: {bad[:5]}")
    slow_503 = [r for r in drive.requests if r["status"] == 503 and r["seconds"] > SLOW_503]
    if slow_503:
        failures.append(f"{len(slow_503)} 503s took longer than {SLOW_503} s: {slow_503[:3]}")

    # Recovery: the first success of each process type after the database answered again.
    recovery = []
    for index, (down, back) in enumerate(outages):
        following = outages[index + 1][0] if index + 1 < len(outages) else float("inf")
        entry = {"down_s": round(back - down, 2)}
        api_ok = [
            r["sent"] + r["seconds"]
            for r in drive.requests
            if r["sent"] >= back and isinstance(r["status"], int) and r["status"] < 300
            and r["kind"] in {"feed", "inbox", "post", "sign-in"}
        ]  # fmt: skip
        # Sent before the database answered again (negative) by the checks above; a 503
        # sent just before the next fault belongs to that one.
        last_503 = [
            r["sent"] for r in drive.requests if r["status"] == 503 and outage_of(r) == (down, back)
        ]
        entry["api_first_2xx_s"] = round(min(api_ok) - back, 2) if api_ok else None
        entry["api_last_503_sent_s"] = round(max(last_503) - back, 2) if last_503 else None
        # The request sent after it answered (within 10 s, done before the next fault) that
        # took longest: (sent, seconds, kind, status).
        after = [
            r
            for r in drive.requests
            if back <= r["sent"] < back + 10 and r["sent"] + r["seconds"] < following
        ]
        slowest_after = max(after, key=lambda r: r["seconds"], default=None)
        entry["api_slowest_after"] = slowest_after and (
            round(slowest_after["sent"] - back, 2),
            round(slowest_after["seconds"], 2),
            slowest_after["kind"],
            slowest_after["status"],
        )
        ws_ok = [sent for sent, outcome in probes if sent >= back and outcome == 101]
        entry["ws_first_handshake_s"] = round(min(ws_ok) - back, 2) if ws_ok else None
        delivered = [t for client in clients for t in client.seen.values() if t >= back]
        entry["worker_first_delivery_s"] = round(min(delivered) - back, 2) if delivered else None
        entry["requests_503"] = sum(
            1 for r in drive.requests if r["status"] == 503 and outage_of(r) == (down, back)
        )
        entry["requests_during"] = sum(1 for r in drive.requests if outage_of(r) == (down, back))
        slowest = [
            r["seconds"]
            for r in drive.requests
            if r["status"] == 503 and outage_of(r) == (down, back)
        ]
        entry["slowest_503_s"] = round(max(slowest), 2) if slowest else None
        # Each 503: (sent, relative to the database answering again; seconds; request kind).
        entry["503s"] = [
            (round(r["sent"] - back, 2), round(r["seconds"], 2), r["kind"])
            for r in drive.requests
            if r["status"] == 503 and outage_of(r) == (down, back)
        ]
        recovery.append(entry)

    not_persisted = drive.accepted_posts - {
        row[0] for row in cluster.sql("SELECT id FROM posts_post")
    }
    if not_persisted:
        failures.append(f"accepted posts missing from the database: {sorted(not_persisted)[:10]}")
    wrong = [row for row in expected if row[1] != row[2] or not row[3]]
    if wrong:
        failures.append(f"posts not notified exactly once per follower: {wrong[:10]}")
    duplicates = cluster.sql(
        "SELECT post_id, recipient_id FROM notifications_notification WHERE post_id IS NOT NULL "
        "GROUP BY post_id, recipient_id HAVING COUNT(*) > 1"
    )
    if duplicates:
        failures.append(f"duplicate notifications: {duplicates[:10]}")
    gaps = {client.user_id: sorted(missing(cluster, client))[:10] for client in clients}
    gaps = {user: ids for user, ids in gaps.items() if ids}
    if gaps:
        lost = sorted({i for ids in gaps.values() for i in ids})
        created = cluster.sql(
            "SELECT id, post_id, created_at FROM notifications_notification WHERE id = ANY(%s)",
            [lost],
        )
        failures.append(f"websocket clients missing notifications: {gaps}; {created}")
    follows_in_db = cluster.sql("SELECT COUNT(*) FROM follows_follow")[0][0]
    if follows_in_db != len(drive.follows):
        failures.append(f"{len(drive.follows)} follows accepted, {follows_in_db} in the database")

    probe_outcomes = Counter(str(outcome) for _, outcome in probes)
    broker_down, broker_back = broker_window
    posts_in_broker_outage = sum(
        1 for r in drive.requests
        if r["kind"] == "post" and broker_down <= r["sent"] <= broker_back and r["status"] == 201
    )  # fmt: skip
    return {
        "failures": failures,
        "requests": len(drive.requests),
        "statuses": dict(statuses),
        "posts_accepted": len(drive.accepted_posts),
        "posts_accepted_during_broker_restart": posts_in_broker_outage,
        "follows": len(drive.follows),
        "notifications": cluster.sql("SELECT COUNT(*) FROM notifications_notification")[0][0],
        "websocket_events_received": sum(len(client.seen) for client in clients),
        "websocket_connects": sum(client.connects for client in clients),
        "websocket_refusals": dict(sum((client.refused for client in clients), Counter())),
        "handshake_probes": dict(probe_outcomes),
        "recovery": recovery,
    }


LOG_PROBLEMS = re.compile(
    r"Traceback|exception was never retrieved|Future exception|Task was destroyed| ERROR |"
    r'"level": "ERROR"|CRITICAL'
)


# A line that starts a log record (the plain format's timestamp, or a JSON record); the lines
# between two are the first one's traceback.
LOG_RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|\{")


def log_findings(processes: dict) -> dict:
    """Each process's log records that name a problem, with their tracebacks, so a failure
    says what went wrong (the logs themselves are in the drill's log folder)."""
    findings = {}
    for name, process in processes.items():
        lines, keep = [], False
        for line in process.output().splitlines():
            if LOG_RECORD.match(line):
                keep = bool(LOG_PROBLEMS.search(line))
            elif LOG_PROBLEMS.search(line):
                keep = True
            if keep:
                lines.append(line)
        if lines:
            findings[name] = lines[:80]
    return findings


async def delete_broker_objects(queue: str, exchange: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(BROKER, timeout=10)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await channel.exchange_delete(exchange)


def on_own_cluster(name: str, scenario) -> tuple[dict, Path]:
    """Run `scenario(cluster, log_dir)`, a coroutine function, against a PostgreSQL cluster of
    its own holding an empty database `warble`; return its results and log folder. The
    cluster is removed afterwards; the log folder is left for `conclude`."""
    directory = Path(tempfile.mkdtemp(prefix=f"warble-{name}-"))
    log_dir = Path(tempfile.mkdtemp(prefix=f"warble-{name}-logs-"))
    cluster = Cluster(directory)
    log(f"PostgreSQL cluster in {directory} on port {cluster.port}; logs in {log_dir}")
    try:
        cluster.init()
        with psycopg.connect(f"{cluster.url}/postgres", autocommit=True) as connection:
            connection.execute("CREATE DATABASE warble")
        return asyncio.run(scenario(cluster, log_dir)), log_dir
    finally:
        cluster.destroy()


def conclude(results: dict, failures: list[str], log_dir: Path) -> int:
    """Print the results with every failure (a logged problem is one), write them to
    DRILL_RESULTS when set, and return the exit status; the logs are removed on success."""
    if results.get("logs"):
        failures.append(f"tracebacks or errors logged: {json.dumps(results['logs'], indent=1)}")
    results["failures"] = failures
    results["seconds"] = round(time.monotonic() - started_at, 1)
    print(json.dumps(results, indent=2, default=str))
    if os.environ.get("DRILL_RESULTS"):
        Path(os.environ["DRILL_RESULTS"]).write_text(json.dumps(results, indent=2, default=str))
    if failures:
        log("FAILED")
        return 1
    shutil.rmtree(log_dir, ignore_errors=True)
    log("passed")
    return 0


def main() -> int:
    results, log_dir = on_own_cluster("drill", drill)
    failures = results.get("failures", ["the drill did not finish"])
    if results.get("unexpected_exits"):
        failures.append(f"processes died on their own: {results['unexpected_exits']}")
    return conclude(results, failures, log_dir)


if __name__ == "__main__":
    sys.exit(main())
