"""The live hub of a websocket process when the channel layer's broker connection drops and
comes back: the live messages in between are lost, so every socket is asked to reconnect
and catch up with `since`."""

import asyncio

from channels.layers import InMemoryChannelLayer

from notifications import live
from notifications.tests.e2e import wait_for


class FlakyLayer(InMemoryChannelLayer):
    """The in-memory layer, with a broker connection the test can drop and restore."""

    def __init__(self):
        super().__init__(group_expiry=86400)
        self.connection = asyncio.get_running_loop().create_future()
        self.connection.set_result(None)

    def connection_state(self):
        return self.connection, self.connection.done()

    def drop(self):
        self.connection = asyncio.get_running_loop().create_future()

    def restore(self):
        self.connection.set_result(None)


class Socket:
    def __init__(self):
        self.frames, self.closed = [], []

    def enqueue(self, notification_id, frame):
        self.frames.append(notification_id)

    def enqueue_close(self, code=4401):
        self.closed.append(code)


async def test_sockets_are_asked_to_resync_when_the_connection_drops_and_comes_back():
    layer = FlakyLayer()
    hub = live.Hub(layer)
    socket = Socket()
    hub.add(7, socket)
    await asyncio.wait_for(hub.wait_joined(), 2)
    batch = live.notification(
        event="follow.created", body={"follower": {"id": 1}}, created_at="now", recipients=[[7, 10]]
    )
    await layer.group_send(live.LIVE_GROUP, batch)
    await wait_for(lambda: socket.frames == [10], 3)
    await asyncio.sleep(1.2)
    assert socket.closed == [], "a steady connection closes nothing"

    layer.drop()
    await wait_for(lambda: socket.closed == [live.CLOSE_RESYNC], 3)
    layer.restore()
    # The first message after the reconnection is not dispatched before the sockets are
    # asked to resync, so a client's `since` never jumps over what was lost.
    await layer.group_send(live.LIVE_GROUP, {**batch, "recipients": [[7, 11]]})
    await wait_for(lambda: socket.closed == [live.CLOSE_RESYNC, live.CLOSE_RESYNC], 3)
    await wait_for(lambda: socket.frames == [10, 11], 3)
    hub.listener.cancel()
    hub.watcher.cancel()
    await asyncio.gather(hub.listener, hub.watcher, return_exceptions=True)
