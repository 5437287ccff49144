"""The web processes' publisher during and after a broker outage."""

import asyncio
import time
import uuid
from urllib.parse import urlparse

import aio_pika

from common.testing import silent_listener
from common.transport import Publisher
from notifications.tests.e2e import TcpProxy, broker_url


def test_a_broker_that_never_answers_costs_one_request_one_timeout():
    """A broker that accepts connections and then says nothing: the request that finds out
    waits for its timeout; the ones after it fail at once while probes run in the
    background."""
    with silent_listener() as port:
        publisher = Publisher(
            f"amqp://guest:guest@127.0.0.1:{port}/", "q", timeout=0.5, retry_interval=0.1
        )
        started = time.monotonic()
        assert publisher.publish({"post_id": 1}) is False
        assert time.monotonic() - started >= 0.5
        slowest = 0.0
        deadline = time.monotonic() + 2.0  # several retry intervals, several probes
        while time.monotonic() < deadline:
            started = time.monotonic()
            assert publisher.publish({"post_id": 1}) is False
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.02)
        assert slowest < 0.25  # never the 0.5 s timeout again


async def count_messages(url: str, queue: str) -> int:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        count = declared.declaration_result.message_count
        await channel.queue_delete(queue)
        return count


async def test_publishing_resumes_once_a_probe_reaches_the_broker():
    broker = broker_url()
    parsed = urlparse(broker)
    proxy = TcpProxy(parsed.hostname, parsed.port or 5672)
    await proxy.start()
    through_proxy = broker.replace(
        f"{parsed.hostname}:{parsed.port or 5672}", f"127.0.0.1:{proxy.port}"
    )
    queue = f"test-publisher-{uuid.uuid4().hex[:10]}"
    publisher = Publisher(through_proxy, queue, timeout=1.0, retry_interval=0.2)
    try:
        assert await asyncio.to_thread(publisher.publish, {"post_id": 1}) is True
        await proxy.cut()
        assert await asyncio.to_thread(publisher.publish, {"post_id": 2}) is False
        await proxy.restore()
        confirmed = [1]
        for post_id in range(3, 1000):
            if await asyncio.to_thread(publisher.publish, {"post_id": post_id}):
                confirmed.append(post_id)
                break
            await asyncio.sleep(0.05)
        assert len(confirmed) == 2, "publishing never resumed"
        # The probes went to no queue: only the confirmed posts are in it.
        assert await count_messages(broker, queue) == len(confirmed)
    finally:
        await proxy.cut()
