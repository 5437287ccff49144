"""A process-level rehearsal of docker-compose.yaml, for machines that cannot run images.

Reads the services from `docker-compose config` and starts their own commands and
environments as local processes: `migrate` (to completion), then `api`, `ws` and two
`worker`s, with the container addresses swapped for the local PostgreSQL and RabbitMQ and
free ports. Then it drives the smoke flow of .ci/smoke.py through them as a client would:
register, sign in, follow, a live notification over the websocket, search, feed, readiness.
Stops everything and exits non-zero on any failure. (.ci/docker.sh runs the same flow, and
more, against the real containers.)

    .venv/bin/python .ci/rehearse.py
Environment: REHEARSAL_POSTGRES (postgres://postgres@127.0.0.1:5432),
REHEARSAL_RABBITMQ (amqp://guest:guest@127.0.0.1:5672/).
"""

import asyncio
import os
import shlex
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
from pathlib import Path
from urllib.parse import unquote, urlparse

import psycopg
import yaml
from smoke import flow

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POSTGRES = os.environ.get("REHEARSAL_POSTGRES", "postgres://postgres@127.0.0.1:5432")
BROKER = os.environ.get("REHEARSAL_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672/")
DATABASE = "warble_rehearsal"


def log(message: str) -> None:
    print(f"[rehearsal] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def compose_services() -> dict:
    """The services as docker compose would run them, variables interpolated."""
    result = subprocess.run(  # noqa: S603
        [shutil.which("docker-compose") or "docker-compose", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return yaml.safe_load(result.stdout)["services"]


def command_of(service: dict) -> list[str]:
    command = service["command"]
    argv = command if isinstance(command, list) else shlex.split(command)
    # The image puts its virtualenv first on PATH; here that is this interpreter's.
    if argv[0] in {"python", "gunicorn", "uvicorn"}:
        argv = [str(BIN / argv[0]), *argv[1:]]
    return argv


def service_parts() -> dict:
    database, broker = urlparse(POSTGRES), urlparse(BROKER)
    return {
        "POSTGRES_HOST": database.hostname,
        "POSTGRES_PORT": str(database.port or 5432),
        "POSTGRES_USER": unquote(database.username or ""),
        "POSTGRES_PASSWORD": unquote(database.password or ""),
        "POSTGRES_DB": DATABASE,
        "RABBITMQ_HOST": broker.hostname,
        "RABBITMQ_PORT": str(broker.port or 5672),
        "RABBITMQ_DEFAULT_USER": unquote(broker.username or ""),
        "RABBITMQ_DEFAULT_PASS": unquote(broker.password or ""),
    }


def environment_of(service: dict, **overrides) -> dict:
    env = {key: str(value) for key, value in (service.get("environment") or {}).items()}
    env.update(
        {
            "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": os.environ.get("HOME", tempfile.gettempdir()),
            # The containers' hosts `postgres` and `rabbitmq` are local services here; the
            # app makes its URLs from these parts, as in the containers.
            **service_parts(),
            **overrides,
        }
    )
    return env


class Processes:
    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        output = (self.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen(  # noqa: S603
            argv, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.running.append((name, process))
        log(f"started {name}: {' '.join(argv[:4])} ...")
        return process

    def stop(self) -> None:
        for _, process in reversed(self.running):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for name, process in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            log(f"stopped {name} (exit {process.returncode})")

    def dump_logs(self) -> None:
        for name, _ in self.running:
            print(f"----- {name} -----")
            print((self.log_dir / f"{name}.log").read_text(errors="replace")[-5000:])


def wait_up(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


async def delete_queue(queue: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(BROKER)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)


def main() -> int:
    services = compose_services()
    missing = {"migrate", "api", "ws", "worker"} - set(services)
    if missing:
        log(f"docker-compose.yaml lacks services: {missing}")
        return 1
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{DATABASE}"')
    var_dir = Path(tempfile.mkdtemp(prefix="warble-rehearsal-"))
    queue = f"rehearsal-posts-{uuid.uuid4().hex[:8]}"
    shared = {
        "POSTS_QUEUE": queue,
        "CHANNEL_LAYER_EXCHANGE": "warble-rehearsal.groups",
        "MEDIA_ROOT": str(var_dir / "media"),
        "SECRET_KEY": f"rehearsal-{uuid.uuid4().hex}{uuid.uuid4().hex}",
    }
    processes = Processes(var_dir)
    api_port, ws_port = free_port(), free_port()
    try:
        migrate = processes.start(
            "migrate",
            command_of(services["migrate"]),
            environment_of(services["migrate"], **shared),
        )
        if migrate.wait(timeout=180) != 0:
            raise RuntimeError("migrate failed")
        log("migrate completed")
        api_env = environment_of(
            services["api"],
            **shared,
            SERVER_ADDRESS="127.0.0.1",
            SERVER_PORT=str(api_port),
            WEB_CONCURRENCY="2",
        )
        api = processes.start("api", command_of(services["api"]), api_env)
        ws_env = environment_of(
            services["ws"], **shared, UVICORN_HOST="127.0.0.1", UVICORN_PORT=str(ws_port)
        )
        ws = processes.start("ws", command_of(services["ws"]), ws_env)
        for index in (1, 2):  # `--scale worker=2`
            processes.start(
                f"worker-{index}",
                command_of(services["worker"]),
                environment_of(services["worker"], **shared),
            )
        wait_up(f"http://127.0.0.1:{api_port}/healthz", api)
        wait_up(f"http://127.0.0.1:{ws_port}/healthz", ws)
        asyncio.run(flow(f"http://127.0.0.1:{api_port}", f"ws://127.0.0.1:{ws_port}"))
    except BaseException as exc:
        log(f"FAILED: {exc!r}")
        processes.stop()
        processes.dump_logs()
        asyncio.run(delete_queue(queue))
        return 1
    processes.stop()
    asyncio.run(delete_queue(queue))
    log("the compose services work together")
    return 0


if __name__ == "__main__":
    sys.exit(main())
