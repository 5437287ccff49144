"""Live delivery: one channel-layer message per fan-out batch, fanned out in memory.

The fan-out sends one message for a whole batch of recipients (up to FANOUT_BATCH_SIZE) to
the group `notifications.live`. Every websocket process joins that group once, so RabbitMQ
copies the message to each process, and the process's hub hands a frame to each open socket
of each recipient it holds. One publish per batch instead of one per recipient: the
per-recipient `group_send` of channels_rabbitmq managed ~10k messages a second, and so
capped both fan-out and delivery (docs/benchmarks.md).

Messages (msgpack-safe, no integer map keys):
    {"type": "live.batch", "event": "post.created", "body": {"post": {...}},
     "created_at": "...", "recipients": [[user_id, notification_id], ...]}
    (any persisted notification's event the same way: "follow.created" with
     {"follower": {...}}, "post.liked" with {"actor": {...}, "post": {...}}, ...)
    {"type": "live.batch", "event": "post.deleted", "post_id": 1, "recipients": [user_id, ...]}
    {"type": "live.batch", "event": "account.closed", "recipients": [user_id]}
    {"type": "live.batch", "event": "session.closed", "recipients": [user_id],
     "session_id": 7}                  (0: the sockets opened with a token of no session)
    {"type": "live.batch", "event": "sessions.closed", "recipients": [user_id],
     "keep_session_id": 7}             (0: keep none)
    {"type": "live.batch", "event": "web_session.closed", "recipients": [user_id],
     "web_session": 123}               (a browser session that signed out)
"""

import asyncio
import json
import logging
import weakref
from collections import defaultdict

from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from common.availability import broker_outage

logger = logging.getLogger("warble.websocket")

LIVE_GROUP = "notifications.live"


def notification(*, event: str, body: dict, created_at: str, recipients: list[list[int]]) -> dict:
    """A persisted notification of any type for each `[user_id, notification_id]`: its frame
    is `{"type": event, "id": notification_id, "created_at": ..., **body}`."""
    return {
        "type": "live.batch",
        "event": event,
        "body": body,
        "created_at": created_at,
        "recipients": recipients,
    }


def post_deleted(*, post_id: int, recipients: list[int]) -> dict:
    return {
        "type": "live.batch",
        "event": "post.deleted",
        "post_id": post_id,
        "recipients": recipients,
    }


def account_closed(*, user_id: int) -> dict:
    """The account was deleted or deactivated: its open sockets are closed (code 4401)."""
    return {"type": "live.batch", "event": "account.closed", "recipients": [user_id]}


def session_closed(*, user_id: int, session_id: int) -> dict:
    """A session was signed out: the sockets opened with its tokens are closed (4401)."""
    return {
        "type": "live.batch",
        "event": "session.closed",
        "recipients": [user_id],
        "session_id": session_id,
    }


def sessions_closed(*, user_id: int, keep_session_id: int) -> dict:
    """Every session of the account but `keep_session_id` ended (sign out everywhere, a
    password change): their sockets are closed (4401)."""
    return {
        "type": "live.batch",
        "event": "sessions.closed",
        "recipients": [user_id],
        "keep_session_id": keep_session_id,
    }


def web_session_closed(*, user_id: int, web_session: int) -> dict:
    """A browser signed out of the web client: the sockets it opened with that session's
    cookie are closed (4401)."""
    return {
        "type": "live.batch",
        "event": "web_session.closed",
        "recipients": [user_id],
        "web_session": web_session,
    }


def _closes(message: dict, socket) -> bool:
    """Whether a session message closes `socket` (a consumer with its `session_id`, and
    its `web_session` when the session cookie signed it in)."""
    session_id = getattr(socket, "session_id", 0)
    if message["event"] == "web_session.closed":
        return getattr(socket, "web_session", 0) == message["web_session"]
    if message["event"] == "session.closed":
        return session_id == message["session_id"]
    keep = message["keep_session_id"]
    return not keep or session_id != keep


SESSION_EVENTS = frozenset({"session.closed", "sessions.closed", "web_session.closed"})

# The frame that tells a socket to close instead of sending.
CLOSE = object()
# Close code asking a client to reconnect (and catch up with `since`): "service restart".
CLOSE_RESYNC = 1012


def frames(message: dict):
    """`(user_id, notification_id or None, frame text)` for each recipient of a batch. The
    shared part of the frame is serialized once per batch."""
    event = message["event"]
    if event == "account.closed":
        for user_id in message["recipients"]:
            yield user_id, None, CLOSE
        return
    if event == "post.deleted":
        frame = json.dumps({"type": "post.deleted", "post_id": message["post_id"]})
        for user_id in message["recipients"]:
            yield user_id, None, frame
        return
    head = f'{{"type": {json.dumps(event)}, "id": '
    body = json.dumps(message["body"])[1:-1]
    tail = f', "created_at": {json.dumps(message["created_at"])}, {body}}}'

    for user_id, notification_id in message["recipients"]:
        yield user_id, notification_id, f"{head}{notification_id}{tail}"


class Unsent(Exception):
    """Some of a job's live messages may not have reached the broker. The job fails and goes
    back to the queue, and its retry sends them again (a fan-out sends the messages of the
    rows it wrote before; clients de-duplicate by id). Dropped instead, they would be lost
    for good to a client that stays connected: once it has a newer id live, a reconnect with
    `since` asks for nothing older."""


def require_sent(stats: dict, *, sent: int, expected: int) -> dict:
    """`stats` if all `expected` live messages went out; else raise Unsent."""
    if sent < expected:
        raise Unsent(f"{expected - sent} of {expected} live messages not sent", stats)
    return stats


async def send(message: dict) -> bool:
    """Publish a batch to every websocket process; False (logged) if the layer failed. A
    worker's handler raises Unsent when a send failed (`require_sent`)."""
    try:
        await asyncio.wait_for(
            get_channel_layer().group_send(LIVE_GROUP, message), settings.PUBLISH_TIMEOUT
        )
    except Exception as exc:
        # Logged once per outage; clients catch up with since-replay.
        broker_outage.down(exc)
        logger.debug(
            "live batch not sent",
            extra={"event": message.get("event"), "error": repr(exc)},
        )
        return False
    broker_outage.up()
    return True


class Hub:
    """The open sockets of this process by user, and the task that receives the live group."""

    def __init__(self, layer):
        self.layer = layer
        self.sockets: dict[int, set] = defaultdict(set)
        self.listener: asyncio.Task | None = None
        self.watcher: asyncio.Task | None = None
        self.joined = asyncio.Event()
        self._connection = None

    def add(self, user_id: int, socket) -> None:
        self.sockets[user_id].add(socket)
        if self.listener is None or self.listener.done():
            self.listener = asyncio.create_task(self._listen())
        if hasattr(self.layer, "connection_state") and (
            self.watcher is None or self.watcher.done()
        ):
            self.watcher = asyncio.create_task(self._watch_connection())

    async def wait_joined(self) -> None:
        """Return once the process receives the live group: a socket that replays before
        then could miss what is sent in between."""
        await self.joined.wait()

    def _check_connection(self) -> None:
        """When the layer's connection to RabbitMQ dropped or came back since last time,
        the live messages in between are lost: every socket of this process is closed with
        1012 (service restart) so its client reconnects with `since` and gets them from the
        database. Checked before each message is dispatched and every second."""
        if self._connection is None and not self.joined.is_set():
            return  # the first connection is still being made: nothing was lost yet
        state = self.layer.connection_state()
        previous, self._connection = self._connection, state
        if previous is None or (previous[0] is state[0] and previous[1] == state[1]):
            return
        sockets = [socket for group in self.sockets.values() for socket in group]
        logger.info(
            "live messages may have been lost (broker connection %s): %d sockets asked to "
            "reconnect",
            "back" if state[1] else "lost",
            len(sockets),
        )
        for socket in sockets:
            socket.enqueue_close(CLOSE_RESYNC)

    async def _watch_connection(self) -> None:
        while True:
            try:
                self._check_connection()
            except Exception as exc:
                logger.debug("broker connection state unknown", extra={"error": repr(exc)})
            await asyncio.sleep(1.0)

    def discard(self, user_id: int, socket) -> None:
        sockets = self.sockets.get(user_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self.sockets[user_id]

    def dispatch(self, message: dict) -> int:
        if message["event"] in SESSION_EVENTS:
            return self._close_sessions(message)
        delivered = 0
        for user_id, notification_id, frame in frames(message):
            for socket in self.sockets.get(user_id, ()):
                if frame is CLOSE:
                    socket.enqueue_close()
                else:
                    socket.enqueue(notification_id, frame)
                delivered += 1
        return delivered

    def _close_sessions(self, message: dict) -> int:
        closed = 0
        for user_id in message["recipients"]:
            for socket in self.sockets.get(user_id, ()):
                if _closes(message, socket):
                    socket.enqueue_close()
                    closed += 1
        return closed

    async def _listen(self) -> None:
        """Join the live group, then dispatch what arrives, until the server stops (cancels
        the task or closes the layer): a failure of the layer is logged and the group joined
        again."""
        delay = 0.5
        while True:
            try:
                channel = await self.layer.new_channel()
                await asyncio.wait_for(
                    self.layer.group_add(LIVE_GROUP, channel), settings.PUBLISH_TIMEOUT
                )
                self.joined.set()
                delay = 0.5
                while True:
                    message = await self.layer.receive(channel)
                    try:
                        if self.watcher is not None:
                            self._check_connection()
                        self.dispatch(message)
                    except Exception:
                        logger.exception("bad live batch dropped")
            except asyncio.CancelledError:
                self.joined.clear()
                raise
            except StopConsumer:
                self.joined.clear()  # the layer was closed: the server is stopping
                return
            except Exception as exc:
                self.joined.clear()
                broker_outage.down(exc)
                logger.debug(
                    "live group unavailable; joining again",
                    extra={"error": repr(exc), "retry_in": delay},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """This process's hub (one per event loop and channel layer)."""
    loop = asyncio.get_running_loop()
    layer = get_channel_layer()
    current = _hubs.get(loop)
    if current is None or current.layer is not layer:
        current = _hubs[loop] = Hub(layer)
    return current
