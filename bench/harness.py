"""Shared pieces of the benchmarks: databases seeded with `seed_demo`, API servers started as
in production, and wrk runs that report latency percentiles and throughput.

Run benchmarks from the project root with the project's virtualenv, e.g.
`.venv/bin/python bench/feed.py`. They need PostgreSQL (BENCH_POSTGRES, default
postgres://postgres@127.0.0.1:5432) and wrk on PATH.
"""

import io
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdefghijklmnop"
RESULTS = ROOT / "bench" / "results"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def base_env(database: str, **extra) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": f"{POSTGRES}/{database}",
        "SECRET_KEY": SECRET_KEY,
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "THROTTLE_POST_RATE": "1000000/min",
        "THROTTLE_LOGIN_RATE": "1000000/min",
        "THROTTLE_REGISTER_RATE": "1000000/min",
    }
    env.pop("RABBITMQ_URL", None)
    env.update({key: str(value) for key, value in extra.items()})
    return env


def sql(database: str, query: str, params=()) -> list[tuple]:
    with psycopg.connect(f"{POSTGRES}/{database}", autocommit=True) as connection:
        cursor = connection.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def database_exists(database: str) -> bool:
    return bool(sql("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", [database]))


def seed(database: str, *, users: int, follows: int, posts: int, celebrity: int = 0, reuse: bool):
    """A fresh database filled by `manage.py seed_demo` (kept when `reuse` and complete)."""
    if reuse and database_exists(database):
        counts = sql(
            database,
            "SELECT (SELECT COUNT(*) FROM accounts_user), (SELECT COUNT(*) FROM posts_post)",
        )[0]
        if counts == (users + (1 if celebrity else 0), posts):
            log(f"reusing {database}: {counts[0]:,} users, {counts[1]:,} posts")
            return
    log(f"seeding {database}: {users:,} users, {follows:,} follows, {posts:,} posts")
    sql("postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    sql("postgres", f'CREATE DATABASE "{database}"')
    env = base_env(database)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    started = time.monotonic()
    subprocess.run(
        [
            PYTHON,
            "manage.py",
            "seed_demo",
            f"--users={users}",
            f"--follows={follows}",
            f"--posts={posts}",
            f"--celebrity={celebrity}",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    log(f"seeded {database} in {time.monotonic() - started:.0f}s")
    # Planner statistics and visibility maps as a database in service has them (autovacuum
    # would get there minutes later, in the middle of a measurement).
    sql(database, "VACUUM (ANALYZE)")
    log(f"vacuumed {database}")


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def call_wsgi(application, environs: list[dict], times: int) -> None:
    """Call a WSGI application `times` times, the environs in turn; each must answer 200."""
    status = []

    def start_response(line, headers, exc_info=None):
        status.append(line)

    for number in range(times):
        environ = environs[number % len(environs)]
        b"".join(application({**environ, "wsgi.input": io.BytesIO(b"")}, start_response))
        if not status.pop().startswith("200"):
            raise RuntimeError(f"{environ['PATH_INFO']}: not 200")


def callgrind(arguments: list[str], env: dict) -> int:
    """The instructions a Python process run with `arguments` executes, counted by valgrind's
    callgrind."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", PYTHON]
    done = subprocess.run(
        [*command, *arguments], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"{arguments}: exit status {done.returncode}\n{done.stderr[-3000:]}")
    return int(re.search(r"Collected : (\d+)", done.stderr).group(1))


@contextmanager
def worktree(commit: str):
    """A checkout of `commit` (`git worktree`, detached) in a temporary directory, with that
    directory for scratch files: `(scratch, root)`, both removed after the block."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "before"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(root), commit], cwd=ROOT, check=True
        )
        try:
            yield Path(scratch), root
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(root)], cwd=ROOT, check=False
            )


@contextmanager
def server(command: list[str], env: dict, health_url: str, root: Path = ROOT):
    """Run a server process (from the checkout at `root`) for the duration of the block."""
    address = urllib.parse.urlsplit(health_url)
    with socket.socket() as probe:
        if probe.connect_ex((address.hostname, address.port)) == 0:
            # Another server (a stray one of an interrupted run) would be measured instead.
            raise SystemExit(f"{address.netloc} is already in use")
    process = subprocess.Popen(command, cwd=root, env=env, start_new_session=True)
    try:
        wait_http(health_url)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def gunicorn(
    database: str,
    port: int,
    workers: int = 4,
    root: Path = ROOT,
    executable: str | None = None,
    worker_class: str | None = None,
    **extra_env,
):
    """The REST API as production serves it: gunicorn workers on WSGI, with the checkout's
    own `config/gunicorn.py` (another checkout's when `root` names one); this environment's
    gunicorn, or `executable` (another release's); the configuration's worker class, or
    `worker_class`."""
    env = base_env(
        database,
        SERVER_ADDRESS="127.0.0.1",
        SERVER_PORT=port,
        WEB_CONCURRENCY=workers,
        DATABASE_POOL_MAX_SIZE=2,
        **extra_env,
    )
    executable = executable or str(Path(PYTHON).parent / "gunicorn")
    command = [executable, "-c", "config/gunicorn.py"]
    command += ["--worker-class", worker_class] if worker_class else []
    command.append("config.wsgi")
    with server(command, env, f"http://127.0.0.1:{port}/healthz", root) as process:
        yield process


def access_tokens(user_ids: list[int]) -> dict[int, str]:
    """Access tokens signed with the benchmark servers' key (no database needed)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("SECRET_KEY", SECRET_KEY)
    import django

    django.setup()
    from rest_framework_simplejwt.tokens import AccessToken

    tokens = {}
    for user_id in user_ids:
        token = AccessToken()
        token["user_id"] = user_id
        tokens[user_id] = str(token)
    return tokens


def wrk(
    url_base: str,
    requests: list[tuple],
    *,
    connections: int,
    duration: int,
    threads: int | None = None,
) -> dict:
    """Load `url_base` with wrk cycling through `(path, token)` GETs or
    `(method, path, token, body)` requests; return p50/p90/p99 (ms), rps and errors. One
    thread (`threads=1`) sends the requests in the order of the list."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as handle:
        for request in requests:
            method, path, token, body = request if len(request) == 4 else ("GET", *request, "")
            handle.write(f"{method}\t{path}\t{token}\t{body}\n")
        request_file = handle.name
    try:
        result = subprocess.run(
            [
                "wrk",
                f"-t{threads or min(2, connections)}",
                f"-c{connections}",
                f"-d{duration}s",
                "--timeout",
                "10s",
                "-s",
                str(ROOT / "bench" / "wrk_requests.lua"),
                url_base,
                "--",
                request_file,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(request_file)
    line = next(line for line in result.stdout.splitlines() if line.startswith("WRK_JSON "))
    stats = json.loads(line.removeprefix("WRK_JSON "))
    if stats["errors"]:
        raise RuntimeError(f"{stats['errors']} failed requests during the run:\n{result.stdout}")
    if not stats["requests"]:
        # A run shorter than one answer measures nothing (its p50 and rate would read 0).
        raise RuntimeError(f"no request answered within {duration}s: a longer run is needed")
    return stats


def wrk_turns(sides: dict[str, tuple[str, list]], turns: int) -> dict[str, list[dict]]:
    """One-second wrk runs over one connection of each side (`name: (url_base, requests)`)
    in turn, `turns` a side, which side goes first alternating: every side's runs come from
    the same moments of a machine whose speed changes from second to second."""
    runs: dict[str, list[dict]] = {name: [] for name in sides}
    order = list(sides)
    for turn in range(turns):
        for name in order if turn % 2 == 0 else order[::-1]:
            base, requests = sides[name]
            runs[name].append(wrk(base, requests, connections=1, duration=1))
    return runs


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by a server's processes (the process group `server` started),
    by PostgreSQL's processes, and by this process's children that have ended (wrk runs).
    The differences around a run split its CPU time between the three; a process that ends
    in between is lost to the first two (gunicorn's workers and pooled connections stay)."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {"server": 0.0, "postgres": 0.0}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / tick
        if int(fields[2]) == server_pid:
            used["server"] += seconds
        elif name.startswith("postgres"):
            used["postgres"] += seconds
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    used["load generator"] = children.ru_utime + children.ru_stime
    return used


def median_of(rounds: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in rounds)


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def save(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(payload, indent=2))
    return path


def verdict(ratio: float, limit: float, *, at_least: bool = False) -> str:
    ok = ratio >= limit if at_least else ratio <= limit
    return "PASS" if ok else "FAIL"


@contextmanager
def asgi_server(kind: str, database: str, port: int, **extra_env):
    """The websocket server of production: uvicorn or daphne, one process."""
    env = base_env(database, DATABASE_POOL_MAX_SIZE=4, **extra_env)
    binary = str(Path(PYTHON).parent / kind)
    if kind == "uvicorn":
        command = [
            binary,
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--lifespan",
            "off",
            "--log-level",
            "warning",
            "--ws-per-message-deflate",
            "false",
        ]
    else:
        command = [
            binary,
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "--access-log",
            os.devnull,
            "-v",
            "0",
            "config.asgi:application",
        ]
    with server(command, env, f"http://127.0.0.1:{port}/healthz") as process:
        yield process


@contextmanager
def fanout_worker(database: str, **extra_env):
    env = base_env(database, LOG_LEVEL="WARNING", **extra_env)
    process = subprocess.Popen(
        [PYTHON, "manage.py", "fanout_worker"], cwd=ROOT, env=env, start_new_session=True
    )
    try:
        time.sleep(1.5)  # connect and start consuming
        if process.poll() is not None:
            raise RuntimeError("the fan-out worker exited at start")
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
