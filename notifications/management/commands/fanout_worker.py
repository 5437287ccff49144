"""`manage.py fanout_worker`: consume the posts queue and fan posts out (production mode)."""

import asyncio
import contextlib
import json
import logging
import signal
import time

import aio_pika
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from common import events
from common.availability import broker_outage, database_outage, is_database_unavailable
from common.logging import new_request_id, request_id_var
from common.models import OutboxEvent
from common.transport import declare_posts_queue, quiet_amqp_leftovers
from notifications import live
from posts.models import Post

logger = logging.getLogger("warble.worker")


SWEEP_BATCH = 500


def backoff(attempt: int) -> float:
    """Seconds to wait before a failed message goes back to the queue."""
    return min(2.0 ** (attempt - 1), 30.0)


def sweep_unpublished(publish, grace: float, limit: int = SWEEP_BATCH) -> tuple[int, int]:
    """Publish posts older than `grace` seconds that were never published, and mark them;
    return `(published, claimed)`. One transaction locks the rows (skipping those another
    worker's sweep holds), publishes each through `publish(post_id)` (which returns once the
    broker confirmed) and marks what went out. A sweep that dies half-way rolls back: its
    posts stay unpublished and are swept again, at worst published twice, never lost."""
    cutoff = timezone.now() - timezone.timedelta(seconds=grace)
    with transaction.atomic():
        claimed = list(
            Post.objects.select_for_update(skip_locked=True)
            .filter(published_at__isnull=True, created_at__lt=cutoff)
            .order_by("id")
            .values_list("id", flat=True)[:limit]
        )
        published = []
        for post_id in claimed:
            try:
                publish(post_id)
            except Exception as exc:
                # The rest waits for the next sweep; the outage is logged once.
                broker_outage.down(exc)
                break
            broker_outage.up()
            published.append(post_id)
        Post.objects.filter(id__in=published).update(published_at=timezone.now())
    return len(published), len(claimed)


def sweep_outbox(publish, grace: float, limit: int = SWEEP_BATCH) -> tuple[int, int]:
    """Publish events older than `grace` seconds that a broker outage left in the outbox,
    and delete them; return `(published, claimed)`. As `sweep_unpublished`: one transaction
    locks the rows (skipping another worker's), publishes each through `publish(message)`
    and deletes what went out; a sweep that dies half-way leaves them for the next."""
    cutoff = timezone.now() - timezone.timedelta(seconds=grace)
    with transaction.atomic():
        claimed = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(created_at__lt=cutoff)
            .order_by("id")[:limit]
        )
        published = []
        for event in claimed:
            try:
                publish({"type": event.kind, **event.fields})
            except Exception as exc:
                # The rest waits for the next sweep; the outage is logged once.
                broker_outage.down(exc)
                break
            broker_outage.up()
            published.append(event.pk)
        OutboxEvent.objects.filter(pk__in=published).delete()
    return len(published), len(claimed)


def release(post_ids: list[int]) -> None:
    """Mark posts unpublished again (their publish failed)."""
    Post.objects.filter(id__in=post_ids).update(published_at=None)


class Worker:
    """Competing consumer of the posts queue, with the sweeper that republishes posts whose
    publish failed during a broker outage."""

    def __init__(self, *, prefetch: int, sweep_interval: float, sweep_grace: float):
        self.prefetch = prefetch
        self.sweep_interval = sweep_interval
        self.sweep_grace = sweep_grace
        self.stopping = asyncio.Event()
        self.in_flight: set[asyncio.Task] = set()
        self.jobs = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(quiet_amqp_leftovers)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stopping.set)
        connection, queue, consumer_tag = await self._start()
        # The channel layer is created on this loop; it reconnects on its own.
        self.layer = get_channel_layer()
        try:
            logger.info(
                "worker consuming",
                extra={"queue": settings.POSTS_QUEUE, "prefetch": self.prefetch},
            )
            sweeper = asyncio.create_task(self._sweep_forever())
            await self.stopping.wait()
            logger.info("worker stopping: finishing jobs in flight", extra={"jobs": self.jobs})
            sweeper.cancel()
            with contextlib.suppress(Exception):
                await queue.cancel(consumer_tag)
            if self.in_flight:
                await asyncio.wait(self.in_flight, timeout=30)
        finally:
            with contextlib.suppress(Exception):
                await connection.close()
            with contextlib.suppress(Exception):
                await self.layer.close()
        logger.info("worker stopped", extra={"jobs": self.jobs})

    async def _start(self):
        """Connect, declare the queue and start consuming, trying again until it works (or
        the worker is stopped). A broker that has just started can refuse the first
        `basic.consume` on a new quorum queue (INTERNAL_ERROR while the queue's process is
        not up yet): the connection is dropped and the start made again after a pause."""
        delay = 0.5
        while True:
            connection = await self._connect()
            try:
                channel = await connection.channel()
                await channel.set_qos(prefetch_count=self.prefetch)
                self.channel = channel
                queue = await declare_posts_queue(channel, settings.POSTS_QUEUE)
                return connection, queue, await queue.consume(self._on_message)
            except Exception as exc:
                with contextlib.suppress(Exception):
                    await connection.close()
                if self.stopping.is_set():
                    raise CommandError("stopped while starting to consume") from exc
                logger.warning(
                    "could not start consuming; retrying",
                    extra={"error": repr(exc), "retry_in": delay},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), delay)
                if self.stopping.is_set():
                    raise CommandError("stopped while starting to consume") from exc
                delay = min(delay * 2, 10.0)

    async def _connect(self) -> aio_pika.abc.AbstractRobustConnection:
        """Connect, waiting for the broker as long as it takes (until stopped). The robust
        connection then survives broker restarts, re-declaring the queue and the consumer."""
        delay = 1.0
        while True:
            try:
                # Reconnect a second after the broker drops the connection (aio-pika's
                # default waits 5 s): a broker restart holds the fan-out up no longer.
                return await aio_pika.connect_robust(
                    settings.RABBITMQ_URL, timeout=10, reconnect_interval=1
                )
            except Exception as exc:
                if self.stopping.is_set():
                    raise
                logger.warning(
                    "broker unreachable; retrying", extra={"error": repr(exc), "retry_in": delay}
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), delay)
                if self.stopping.is_set():
                    raise CommandError("stopped while waiting for the broker") from exc
                delay = min(delay * 2, 30.0)

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        self.in_flight.add(task)
        # Each job logs under the id of the request that published it (or a new one).
        token = request_id_var.set(new_request_id(message.message_id))
        try:
            await self._process(message)
        finally:
            request_id_var.reset(token)
            self.in_flight.discard(task)

    async def _process(self, message) -> None:
        started = time.perf_counter()
        attempt = int((message.headers or {}).get("x-delivery-count", 0)) + 1
        try:
            payload = json.loads(message.body)
            stats = await events.handle(payload)
        except (ValueError, events.InvalidEvent) as exc:
            # json errors are ValueErrors too: such a message can never succeed.
            logger.error("dropping malformed message", extra={"error": str(exc)})
            await message.reject(requeue=False)
            return
        except Exception as exc:
            if attempt >= settings.FANOUT_MAX_ATTEMPTS:
                await self._give_up(message, payload, attempt)
                return
            await self._requeue_later(
                message, attempt, "job failed; it goes back to the queue", exc
            )
            return
        try:
            await message.ack()
        except Exception as exc:
            # The connection dropped: the broker redelivers the message, which is harmless.
            logger.warning(
                "ack failed; the message will be redelivered", extra={"error": repr(exc)}
            )
            return
        self.jobs += 1
        logger.info(
            "job done",
            extra={
                **stats,
                "attempt": attempt,
                "job_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )

    async def _give_up(self, message, payload: dict, attempt: int) -> None:
        """Stop retrying a message that keeps failing, so it cannot hold a prefetch slot
        forever. A post goes back to unpublished: the sweeper publishes it again later."""
        logger.exception("giving up on message", extra={"attempt": attempt})
        post_id = (
            payload.get("post_id")
            if payload.get("type", "post.created") == "post.created"
            else None
        )
        if post_id is not None:
            try:
                await database_sync_to_async(release)([int(post_id)])
            except Exception as exc:
                # The database is what fails (it is down): the message is the post's only
                # record of its pending fan-out, so it goes back to the queue, not away.
                await self._requeue_later(
                    message,
                    attempt,
                    "could not mark the post unpublished; the message goes back to the queue",
                    exc,
                )
                return
        await message.reject(requeue=False)

    async def _requeue_later(self, message, attempt: int, what: str, exc: Exception) -> None:
        """Back off, then return the message to the queue for any worker to take again. A
        database or broker outage is logged once (common.availability), each job it defers
        at INFO.
        A worker told to stop hands the message back at once instead of finishing the pause
        (a pause of up to 30 s would outlast the stop's grace period)."""
        delay = backoff(attempt)
        extra = {"attempt": attempt, "retry_in": delay, "error": repr(exc)}
        if is_database_unavailable(exc):
            database_outage.down(exc)
            logger.info(f"{what} (database unavailable)", extra=extra)
        elif isinstance(exc, live.Unsent):
            # The broker's outage is logged once, by the live send that met it.
            logger.info(f"{what} (live messages not sent)", extra=extra)
        else:
            logger.warning(what, extra=extra)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), delay)
        with contextlib.suppress(Exception):
            await message.nack(requeue=True)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_database_unavailable(exc):
                    database_outage.down(exc)  # logged once; the next sweep retries
                else:
                    logger.exception("sweep failed")
            await asyncio.sleep(self.sweep_interval)

    async def _publish(self, message: dict) -> None:
        await self.channel.default_exchange.publish(
            aio_pika.Message(
                json.dumps(message).encode(),
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=settings.POSTS_QUEUE,
            timeout=settings.PUBLISH_TIMEOUT,
        )

    async def sweep(self) -> int:
        """Publish posts that a broker outage left unpublished, and the events it left in
        the outbox."""
        loop = asyncio.get_running_loop()

        def publish(message: dict) -> None:
            # Called from the sweep's database thread, waiting for this loop's publish.
            future = asyncio.run_coroutine_threadsafe(self._publish(message), loop)
            future.result(settings.PUBLISH_TIMEOUT + 1)

        def publish_post(post_id: int) -> None:
            publish({"type": "post.created", "post_id": post_id})

        counts = {}
        for name, sweeper, publisher in [
            ("posts", sweep_unpublished, publish_post),
            ("events", sweep_outbox, publish),
        ]:
            sweep_batch = database_sync_to_async(sweeper, thread_sensitive=False)
            counts[name] = 0
            while True:
                published, claimed = await sweep_batch(publisher, self.sweep_grace)
                counts[name] += published
                if published < claimed or claimed < SWEEP_BATCH:
                    break
        if any(counts.values()):
            logger.info("sweep republished", extra=counts)
        return sum(counts.values())


class Command(BaseCommand):
    help = (
        "Consume the posts queue (POSTS_QUEUE on RABBITMQ_URL): write each post into its "
        "author's followers' timelines and inboxes, then send their live events. Any number of "
        "workers may run. Also republishes posts and events that a broker outage left "
        "unpublished."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--prefetch",
            type=int,
            default=8,
            help="messages processed at once by this worker (default 8)",
        )
        parser.add_argument(
            "--sweep-interval",
            type=float,
            default=15.0,
            help="seconds between sweeps for unpublished posts (default 15)",
        )
        parser.add_argument(
            "--sweep-grace",
            type=float,
            default=10.0,
            help="only posts older than this many seconds are swept (default 10)",
        )

    def handle(self, *args, prefetch, sweep_interval, sweep_grace, **options):
        if not settings.RABBITMQ_URL:
            raise CommandError(
                "RABBITMQ_URL is not set. Without a broker (the embedded mode) fan-out runs "
                "inside the web process and no worker is needed."
            )
        if prefetch < 1 or sweep_interval <= 0 or sweep_grace < 0:
            raise CommandError("--prefetch must be >= 1, --sweep-interval > 0, --sweep-grace >= 0.")
        worker = Worker(prefetch=prefetch, sweep_interval=sweep_interval, sweep_grace=sweep_grace)
        asyncio.run(worker.run())
