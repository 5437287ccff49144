"""How events (common.events) leave the process whose transaction created them.

- Production (`RABBITMQ_URL` set): published to the durable quorum queue `POSTS_QUEUE` as a
  persistent JSON message, waiting for the broker's publisher confirm. One publisher per
  process owns the AMQP connection on its own event loop in a background thread (web
  processes are synchronous; the AMQP client is asyncio). Every publish is bounded by
  `PUBLISH_TIMEOUT`; after a failure, publishing fails at once until a probe in the
  background (at most every `BROKER_RETRY_INTERVAL` seconds) gets a confirm from the broker
  again, so an outage, even of a broker that accepts connections and never answers, costs
  at most one request one timeout. Whatever was not published is found and published again
  by the sweeper in `fanout_worker`.
- Embedded (no `RABBITMQ_URL`): the message is handled in this process by
  `common.events.handle`, on the ASGI server's event loop (where the websocket
  consumers and the in-memory channel layer live), or on a background loop when no server
  runs in the process.
- `FANOUT_EAGER` (tests): handled synchronously, before `publish` returns.
"""

import asyncio
import contextlib
import contextvars
import functools
import json
import logging
import os
import threading
import time

import aio_pika
import aiormq
from asgiref.sync import async_to_sync
from django.conf import settings

from common import events
from common.logging import request_id_var

logger = logging.getLogger("warble.transport")

QUEUE_ARGUMENTS = {"x-queue-type": "quorum"}
# Routed to no queue: a message that only asks the broker for a confirm.
PROBE_ROUTING_KEY = "warble.publisher-probe"


async def declare_posts_queue(channel: aio_pika.abc.AbstractChannel, name: str):
    """The posts queue, durable and replicated (quorum), as the worker declares it; the web
    publisher (on aiormq) declares it with the same QUEUE_ARGUMENTS, or the broker refuses."""
    return await channel.declare_queue(name, durable=True, arguments=QUEUE_ARGUMENTS)


def quiet_amqp_leftovers(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """Event-loop exception handler: when the broker closes a connection, aiormq fails
    every future of that connection, and those nobody awaited are reported with a
    traceback as they are collected ("Future exception was never retrieved"), often at
    shutdown, though the failure was handled where it was awaited. Those go to DEBUG;
    anything else to asyncio's default handler."""
    exception = context.get("exception")
    if "future" in context and isinstance(exception, aiormq.exceptions.AMQPError):
        logger.debug("unawaited AMQP future failed: %r", exception)
        return
    loop.default_exception_handler(context)


class BackgroundLoop:
    """An event loop running in a daemon thread; one per process, made again after a fork."""

    def __init__(self, name: str):
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid: int | None = None

    def get(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid() or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                loop.set_exception_handler(quiet_amqp_leftovers)
                threading.Thread(target=loop.run_forever, name=self._name, daemon=True).start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop

    def run(self, coro, timeout: float):
        """Run `coro` on the loop and wait for its result at most `timeout` seconds."""
        return asyncio.run_coroutine_threadsafe(coro, self.get()).result(timeout)


background_loop = BackgroundLoop("warble-events")


class Publisher:
    """Publishes JSON messages to the posts queue with confirms, from synchronous code. Built
    on aiormq (aio-pika's protocol layer), whose connections close cleanly when they fail
    to open."""

    def __init__(self, url: str, queue: str, timeout: float, retry_interval: float):
        self.url, self.queue, self.timeout = url, queue, timeout
        self.retry_interval = retry_interval
        self._connection = None
        self._channel = None
        self._lock: asyncio.Lock | None = None
        self._failed_at = float("-inf")
        self._healthy = True
        self._probing = False
        self._state_lock = threading.Lock()

    async def _ready_channel(self):
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if self._channel is None or self._channel.is_closed:
                await self._close()
                self._connection = await aiormq.connect(self.url)
                self._channel = await self._connection.channel(publisher_confirms=True)
                await self._channel.queue_declare(
                    self.queue, durable=True, arguments=QUEUE_ARGUMENTS
                )
            return self._channel

    async def _close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def _publish(self, body: bytes, routing_key: str | None = None) -> None:
        channel = await self._ready_channel()
        confirmation = await channel.basic_publish(
            body,
            routing_key=self.queue if routing_key is None else routing_key,
            mandatory=routing_key is None,
            properties=aiormq.spec.Basic.Properties(
                content_type="application/json",
                delivery_mode=2,
                # The request's id travels with the message: the worker's log lines for the
                # job carry the same id as the request that caused it.
                message_id=request_id_var.get() if request_id_var.get() != "-" else None,
            ),
        )
        if not isinstance(confirmation, aiormq.spec.Basic.Ack):
            raise RuntimeError(f"the broker did not confirm the message: {confirmation!r}")

    def _failed(self) -> None:
        with self._state_lock:
            self._healthy, self._failed_at = False, time.monotonic()

    def _call(self, coro, timeout: float | None = None) -> None:
        timeout = self.timeout if timeout is None else timeout
        try:
            background_loop.run(asyncio.wait_for(coro, timeout), timeout + 1)
        except BaseException:
            self._failed()
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._close(), background_loop.get())
            raise

    async def _probe(self) -> None:
        """Publish an empty message that no queue takes (the broker confirms it all the
        same): the broker is back once that is confirmed."""
        try:
            await asyncio.wait_for(self._publish(b"", routing_key=PROBE_ROUTING_KEY), self.timeout)
        except Exception:
            self._failed()
            await self._close()
        else:
            with self._state_lock:
                self._healthy = True
            logger.info("broker reachable again: publishing resumes")
        finally:
            self._probing = False

    def _unavailable(self) -> bool:
        """Whether the broker is known to be down; if so, maybe start a probe."""
        with self._state_lock:
            if self._healthy:
                return False
            if not self._probing and time.monotonic() - self._failed_at >= self.retry_interval:
                self._probing = True
                asyncio.run_coroutine_threadsafe(self._probe(), background_loop.get())
            return True

    def publish(self, message: dict) -> bool:
        """Publish and wait for the broker's confirm; False (never an exception) on failure."""
        if self._unavailable():
            logger.warning("broker unavailable: message left for the sweeper", extra=message)
            return False
        try:
            self._call(self._publish(json.dumps(message).encode()))
        except Exception as exc:
            logger.warning(
                "publish failed: message left for the sweeper",
                extra={**message, "error": repr(exc)},
            )
            return False
        return True

    def check(self, timeout: float | None = None) -> None:
        """Return once the broker answers (connecting if needed), else raise why not; waits
        at most `timeout` seconds (default: the publish timeout)."""
        self._call(self._ready_channel(), timeout)
        with self._state_lock:
            self._healthy = True


_publishers: dict[tuple, Publisher] = {}
_publishers_lock = threading.Lock()


def publisher() -> Publisher:
    """This process's publisher for the configured broker and queue."""
    key = (os.getpid(), settings.RABBITMQ_URL, settings.POSTS_QUEUE)
    with _publishers_lock:
        if key not in _publishers:
            _publishers[key] = Publisher(
                settings.RABBITMQ_URL,
                settings.POSTS_QUEUE,
                timeout=settings.PUBLISH_TIMEOUT,
                retry_interval=settings.BROKER_RETRY_INTERVAL,
            )
        return _publishers[key]


# --- embedded mode -----------------------------------------------------------------------

_server_loop: asyncio.AbstractEventLoop | None = None


def bind_server_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Called by the ASGI application: in-process fan-out runs on the server's loop."""
    global _server_loop
    _server_loop = loop


async def _handle_logged(message: dict) -> None:
    try:
        await events.handle(message)
    except Exception:
        logger.exception("in-process fan-out failed", extra=message)


def _dispatch_in_process(message: dict) -> bool:
    if settings.FANOUT_EAGER:
        async_to_sync(events.handle)(message)
        return True
    loop = _server_loop
    if loop is None or loop.is_closed() or not loop.is_running():
        loop = background_loop.get()
    # A fresh context: the task must not inherit the request's (its thread-sensitive
    # executor ends with the request).
    loop.call_soon_threadsafe(
        functools.partial(loop.create_task, _handle_logged(message)), context=contextvars.Context()
    )
    return True


# --- public API --------------------------------------------------------------------------


def is_durable() -> bool:
    """Whether messages go to the broker (and may fail to), rather than to this process."""
    return bool(settings.RABBITMQ_URL) and not settings.FANOUT_EAGER


def publish(message: dict) -> bool:
    """Hand a fan-out message to the configured transport; True once it is safely handed over."""
    if is_durable():
        return publisher().publish(message)
    return _dispatch_in_process(message)
