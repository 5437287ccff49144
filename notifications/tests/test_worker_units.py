"""Pieces of the production pipeline that can be checked without a broker."""

import asyncio
import time

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from common.events import InvalidEvent, handle
from common.testing import free_port, make_user
from common.transport import Publisher
from notifications.management.commands.fanout_worker import release, sweep_unpublished
from notifications.models import Notification
from posts.models import Post

pytestmark = pytest.mark.django_db(transaction=True)


def closed_port_url() -> str:
    return f"amqp://guest:guest@127.0.0.1:{free_port()}/"


def test_the_sweeper_publishes_only_old_unpublished_posts_and_marks_them():
    author = make_user("author")
    old = Post.objects.create(author=author, text="old")
    Post.objects.filter(pk=old.pk).update(created_at=timezone.now() - timezone.timedelta(minutes=5))
    Post.objects.create(author=author, text="fresh")  # its own publish may still be under way
    done = Post.objects.create(author=author, text="done", published_at=timezone.now())
    Post.objects.filter(pk=done.pk).update(
        created_at=timezone.now() - timezone.timedelta(minutes=5)
    )
    sent = []
    assert sweep_unpublished(sent.append, grace=10) == (1, 1)
    assert sent == [old.pk]
    assert Post.objects.get(pk=old.pk).published_at is not None
    assert sweep_unpublished(sent.append, grace=10) == (0, 0)


def test_a_sweep_that_fails_half_way_marks_only_what_went_out():
    author = make_user("author")
    posts = Post.objects.bulk_create([Post(author=author, text=str(i)) for i in range(4)])
    Post.objects.update(created_at=timezone.now() - timezone.timedelta(minutes=1))
    sent = []

    def flaky(post_id):
        if len(sent) == 2:
            raise ConnectionError("broker gone")
        sent.append(post_id)

    assert sweep_unpublished(flaky, grace=0) == (2, 4)
    assert list(Post.objects.filter(published_at__isnull=True).values_list("id", flat=True)) == [
        p.pk for p in posts[2:]
    ]


def test_a_sweep_that_dies_leaves_its_posts_unpublished():
    author = make_user("author")
    Post.objects.create(author=author, text="x")
    Post.objects.update(created_at=timezone.now() - timezone.timedelta(minutes=1))

    def dies(post_id):
        raise SystemExit("killed")

    with pytest.raises(SystemExit):
        sweep_unpublished(dies, grace=0)
    assert Post.objects.filter(published_at__isnull=True).count() == 1


def test_release_marks_posts_unpublished_again():
    author = make_user("author")
    post = Post.objects.create(author=author, text="x", published_at=timezone.now())
    release([post.pk])
    assert Post.objects.get().published_at is None


@pytest.mark.parametrize(
    "message",
    [
        [],
        {"type": "post.created"},
        {"type": "post.created", "post_id": "abc"},
        {"type": "post.deleted", "post_id": 1},
        {"type": "follow.created"},
        {"type": "account.closed"},
        {"type": "account.closed", "user_id": None},
        {"type": "something.else", "post_id": 1},
    ],
)
async def test_malformed_messages_are_refused(message):
    with pytest.raises(InvalidEvent):
        await handle(message)


async def test_a_message_for_a_deleted_post_is_skipped():
    stats = await handle({"type": "post.created", "post_id": 987654})
    assert stats == {"post_id": 987654, "recipients": 0, "skipped": True}


def test_publisher_fails_fast_while_the_broker_is_down():
    publisher = Publisher(closed_port_url(), "test-queue", timeout=1.0, retry_interval=30.0)
    started = time.monotonic()
    assert publisher.publish({"post_id": 1}) is False
    first = time.monotonic() - started
    started = time.monotonic()
    for _ in range(20):
        assert publisher.publish({"post_id": 1}) is False
    assert first < 1.5
    assert time.monotonic() - started < 0.1  # no new attempt within the retry interval
    with pytest.raises(ConnectionError, match="Connect call failed"):
        publisher.check()


def test_posting_with_the_broker_down_leaves_the_post_for_the_sweeper(settings, api, user):
    settings.FANOUT_EAGER = False
    settings.RABBITMQ_URL = closed_port_url()
    started = time.monotonic()
    response = api.post("/api/posts/", {"text": "while the broker is down"}, format="json")
    assert response.status_code == 201
    assert time.monotonic() - started < settings.PUBLISH_TIMEOUT + 1
    assert Post.objects.get().published_at is None
    assert not Notification.objects.exists()


def test_the_worker_needs_a_broker(settings):
    settings.RABBITMQ_URL = ""
    with pytest.raises(CommandError, match="RABBITMQ_URL"):
        call_command("fanout_worker")


@pytest.mark.parametrize("options", [{"prefetch": 0}, {"sweep_interval": 0}, {"sweep_grace": -1}])
def test_the_worker_validates_its_options(settings, options):
    settings.RABBITMQ_URL = closed_port_url()
    with pytest.raises(CommandError):
        call_command("fanout_worker", **options)


def test_unawaited_amqp_failures_are_not_reported_as_errors(caplog):
    """A connection the broker closed fails futures nobody awaits; collected, they must not
    print "Future exception was never retrieved" (other failures still do)."""
    import gc

    import aiormq

    from common.transport import quiet_amqp_leftovers

    loop = asyncio.new_event_loop()
    loop.set_exception_handler(quiet_amqp_leftovers)
    try:
        for exception in (aiormq.exceptions.ConnectionClosed(320, "shutdown"), ValueError("bug")):
            future = loop.create_future()
            future.set_exception(exception)
            del future
            gc.collect()
    finally:
        loop.close()
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1
    assert "bug" in errors[0].getMessage() + str(errors[0].exc_info)


async def test_a_stopping_worker_hands_a_deferred_message_back_at_once():
    """The pause before a failed job goes back to the queue (up to 30 s) ends when the
    worker is told to stop, so stopping never waits for it."""
    from notifications.management.commands.fanout_worker import Worker

    class Message:
        nacked = None

        async def nack(self, requeue):
            self.nacked = requeue

    worker = Worker(prefetch=1, sweep_interval=1, sweep_grace=1)
    message = Message()
    pause = asyncio.create_task(
        worker._requeue_later(message, attempt=10, what="job failed", exc=RuntimeError("x"))
    )
    await asyncio.sleep(0.05)
    assert not pause.done()
    started = time.monotonic()
    worker.stopping.set()
    await asyncio.wait_for(pause, 2)
    assert time.monotonic() - started < 1
    assert message.nacked is True


async def test_a_worker_that_cannot_start_consuming_tries_again(settings, caplog):
    """A broker can refuse the start (a just-started broker answered the first consume on
    a new quorum queue with INTERNAL_ERROR): the worker tries again instead of exiting. Here
    the refusal is the real broker's PRECONDITION_FAILED, for a queue of the same name
    declared with other arguments, until that queue is deleted."""
    import uuid

    import aio_pika

    from notifications.management.commands.fanout_worker import Worker
    from notifications.tests.e2e import broker_url

    settings.RABBITMQ_URL = broker_url()
    settings.POSTS_QUEUE = f"warble-test-start-{uuid.uuid4().hex[:8]}"
    blocker = await aio_pika.connect(settings.RABBITMQ_URL)
    worker = Worker(prefetch=1, sweep_interval=1, sweep_grace=1)
    try:
        channel = await blocker.channel()
        await channel.declare_queue(settings.POSTS_QUEUE, durable=False)
        starting = asyncio.create_task(worker._start())
        for _ in range(50):
            if "could not start consuming; retrying" in caplog.text:
                break
            await asyncio.sleep(0.1)
        assert "could not start consuming; retrying" in caplog.text
        assert not starting.done()
        await channel.queue_delete(settings.POSTS_QUEUE)
        connection, queue, consumer_tag = await asyncio.wait_for(starting, 15)
        try:
            assert queue.name == settings.POSTS_QUEUE
            assert queue.durable
        finally:
            await queue.cancel(consumer_tag)
            await queue.delete(if_unused=False, if_empty=False)
            await connection.close()
    finally:
        worker.stopping.set()
        await blocker.close()
