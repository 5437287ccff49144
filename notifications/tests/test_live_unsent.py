"""A live message that may not have reached the broker is never dropped in silence: the job
that sent it fails, goes back to the queue, and its retry sends it again. Dropped, it would
be lost for good to a client that stays connected: once that client has a newer id live, a
reconnect with `since` asks for nothing older."""

import asyncio
import logging
import uuid

import aio_pika
import carehare
import pytest
from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer

from common.events import handle
from common.testing import make_user
from follows.models import Follow
from notifications import live
from notifications.layers import RabbitmqChannelLayer
from notifications.models import Notification
from notifications.tests.e2e import broker_url
from posts.models import Post

pytestmark = pytest.mark.django_db(transaction=True)


class SwitchedLayer(InMemoryChannelLayer):
    """The in-memory layer, whose group sends fail while `failing` is set."""

    def __init__(self):
        super().__init__(group_expiry=86400)
        self.failing = True

    async def group_send(self, group, message):
        if self.failing:
            raise carehare.ConnectionClosed("the broker went away")
        await super().group_send(group, message)


@pytest.fixture
async def layer(monkeypatch):
    layer = SwitchedLayer()
    monkeypatch.setattr(live, "get_channel_layer", lambda: layer)
    channel = await layer.new_channel()
    await layer.group_add(live.LIVE_GROUP, channel)
    layer.received = lambda: asyncio.wait_for(layer.receive(channel), 2)
    return layer


async def test_a_follow_notification_not_sent_live_fails_its_job_and_the_retry_sends_it(layer):
    follower, followee = await sync_to_async(make_user)(), await sync_to_async(make_user)()
    notification = await Notification.objects.acreate(
        recipient=followee, type=Notification.Type.FOLLOW_CREATED, actor=follower
    )
    event = {"type": "follow.created", "notification_id": notification.pk}

    with pytest.raises(live.Unsent, match="1 of 1 live messages not sent"):
        await handle(event)

    layer.failing = False
    assert (await handle(event))["live_batches_sent"] == 1
    message = await layer.received()
    assert message["event"] == "follow.created"
    assert message["recipients"] == [[followee.pk, notification.pk]]


async def test_a_fanout_whose_live_batch_failed_is_retried_and_sends_the_rows_it_wrote(layer):
    def setup():
        author, follower, mentioned = make_user(), make_user(), make_user()
        Follow.objects.create(follower=follower, followee=author)
        post = Post.objects.create(
            author=author,
            text=f"hello @{mentioned.username}",
            mentions=[{"id": mentioned.pk, "username": mentioned.username}],
        )
        return post, follower, mentioned

    post, follower, mentioned = await sync_to_async(setup)()
    event = {"type": "post.created", "post_id": post.pk}

    with pytest.raises(live.Unsent, match="2 of 2 live messages not sent"):
        await handle(event)
    written = {n.recipient_id: n.pk async for n in Notification.objects.filter(post_id=post.pk)}
    assert set(written) == {follower.pk, mentioned.pk}, "the rows are written all the same"

    layer.failing = False
    stats = await handle(event)
    assert stats["live_batches"] == stats["live_batches_sent"] == 2
    sent = {}
    for _ in range(2):
        message = await layer.received()
        sent.update({recipient: notification for recipient, notification in message["recipients"]})
    assert sent == written, "the retry sends the notifications the first try wrote"


async def test_a_job_whose_live_messages_failed_goes_back_to_the_queue(layer, caplog):
    from notifications.management.commands.fanout_worker import Worker

    follower, followee = await sync_to_async(make_user)(), await sync_to_async(make_user)()
    notification = await Notification.objects.acreate(
        recipient=followee, type=Notification.Type.FOLLOW_CREATED, actor=follower
    )

    class Message:
        body = f'{{"type": "follow.created", "notification_id": {notification.pk}}}'.encode()
        headers = {}
        acked = nacked = None

        async def ack(self):
            self.acked = True

        async def nack(self, requeue):
            self.nacked = requeue

    worker = Worker(prefetch=1, sweep_interval=1, sweep_grace=1)
    worker.stopping.set()  # hand the message back without the pause
    message = Message()
    with caplog.at_level(logging.INFO, logger="warble.worker"):
        await worker._process(message)
    assert message.nacked is True
    assert message.acked is None
    deferred = [r for r in caplog.records if "goes back to the queue" in r.getMessage()]
    assert [r.levelname for r in deferred] == ["INFO"], "the outage is logged once, elsewhere"


async def test_a_group_send_the_connection_closed_under_raises():
    """channels_rabbitmq logs a publish its connection closed under and returns as if it
    went out; the project's layer raises instead, so the sender knows."""
    exchange = f"warble-test-{uuid.uuid4().hex[:8]}"
    layer = RabbitmqChannelLayer(host=broker_url(), groups_exchange=exchange)
    try:
        connection = await asyncio.wait_for(layer.carehare_connection, 10)
        await layer.group_send("test", {"type": "x"})  # a live connection: it goes out
        connection._protocol._transport.abort()  # as when the broker drops it
        with pytest.raises(carehare.ConnectionClosed):
            await layer.group_send("test", {"type": "x"})
    finally:
        await layer.close()
        broker = await aio_pika.connect(broker_url())
        async with broker:
            await (await broker.channel()).exchange_delete(exchange)
