import asyncio
import contextlib
import json
import logging
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from common.availability import database_outage, is_database_unavailable
from notifications import live, selectors
from notifications.auth import CLOSE_TRY_AGAIN_LATER
from notifications.serializers import notification_events

logger = logging.getLogger("warble.websocket")

REPLAY_BATCH = 500
OUTBOX_SIZE = 10_000
CLOSE_UNAUTHORIZED = 4401


def _replay_page(user, after: int) -> list[dict]:
    return notification_events(
        selectors.notifications_after(user=user, after=after, limit=REPLAY_BATCH),
        viewer=user,
    )


def _late_events(user, since: int) -> list[dict]:
    return notification_events(selectors.notifications_late(user=user, since=since), viewer=user)


def _since(scope) -> int | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("since")
    if not values:
        return None
    try:
        since = int(values[0])
    except ValueError:
        return -1
    return since if 0 <= since < 2**63 else -1


class NotificationConsumer(AsyncWebsocketConsumer):
    """Live notifications of one signed-in user.

    On connect: refuse without a valid token; register with the process's live hub first,
    so frames arriving from then on wait in this socket's outbox; replay every persisted
    notification after `?since=`, oldest first; then send the outbox, skipping what the
    replay already sent (no gaps, no duplicates). A slow client only fills its own outbox,
    and is then asked to reconnect (1012) once the outbox is sent.
    While the database is down the handshake is refused (503), and a replay it interrupts
    closes the socket with 1013 (try again later). Client frames: `{"type": "ping"}` gets
    `{"type": "pong"}`; anything else gets an `error` frame; nothing a client sends closes
    the socket."""

    # Live frames left out since the outbox filled (`enqueue`).
    dropped = 0
    # A close is in the outbox (`enqueue_close`): the first one asked for stands.
    closing = False

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        self.user_id = user.pk
        # The session the token belongs to (0: none): signing it out closes this socket.
        self.session_id = self.scope.get("session_id", 0)
        # The browser session of a socket signed in by the session cookie (0: none).
        self.web_session = self.scope.get("web_session", 0)
        self.replayed: set[int] = set()
        self.outbox: asyncio.Queue = asyncio.Queue(maxsize=OUTBOX_SIZE)
        self.hub = live.hub()
        self.hub.add(self.user_id, self)
        # The replay must not start before the process receives live messages, or what is
        # sent in between reaches neither (a fresh process, or a broker that is back).
        # While the broker is down it goes on without live messages (the replay still runs).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(settings.PUBLISH_TIMEOUT):
                await self.hub.wait_joined()
        try:
            await self.accept()
        except RuntimeError as exc:
            # A server that stops while a handshake waits here answers it itself (uvicorn: a
            # 500) and refuses the accept that follows: there is no socket left to serve.
            logger.info(
                "websocket handshake ended by the server before it was accepted: %s",
                exc,
                extra={"user_id": self.user_id},
            )
            raise StopConsumer from None
        logger.info("websocket connected", extra={"user_id": self.user_id})
        since = _since(self.scope)
        if since == -1:
            await self._error("`since` must be a non-negative integer notification id.")
        elif since is not None:
            try:
                await self._replay(since)
            except Exception as exc:
                if not is_database_unavailable(exc):
                    raise
                # The client reconnects with the same `since` once the database is back.
                database_outage.down(exc)
                await self.close(code=CLOSE_TRY_AGAIN_LATER)
                return
        self.writer = asyncio.create_task(self._write())

    async def _replay(self, since: int) -> None:
        # First what committed after `since` with a smaller id (rare), then the larger ids.
        page = await database_sync_to_async(_late_events)(self.scope["user"], since)
        after = since
        while True:
            for event in page:
                self.replayed.add(event["id"])
                await self.send(text_data=json.dumps(event))
            page = await database_sync_to_async(_replay_page)(self.scope["user"], after)
            if not page:
                return
            after = page[-1]["id"]

    def enqueue(self, notification_id: int | None, frame: str) -> None:
        """Called by the hub for each live frame of this user.

        A client that reads too slowly fills its outbox: from the first frame that does not
        fit, no frame is sent to it any more, and once it has been sent what was queued
        before, the socket is closed with 1012 (`_write`). Its client reconnects with
        `since` set to the last id it saw, and the replay brings what was left out. Sent
        the frames after it instead, the client would have a newer id than the one it
        missed and never ask for it again."""
        if self.dropped:
            self.dropped += 1
            return
        try:
            self.outbox.put_nowait((notification_id, frame))
        except asyncio.QueueFull:
            self.dropped += 1
            logger.warning(
                "websocket outbox full; the client is asked to reconnect",
                extra={"user_id": self.user_id},
            )

    def enqueue_close(self, code: int = CLOSE_UNAUTHORIZED) -> None:
        """Called by the hub when the account is deleted or deactivated, or the socket's
        session is signed out (4401), or when live messages may have been lost and the
        client should catch up (1012)."""
        if self.closing:
            return
        self.closing = True
        if self.outbox.full():
            # A client too slow to take its frames is closed without them, by the writer, as
            # soon as the frame it is sending has gone.
            while not self.outbox.empty():
                self.outbox.get_nowait()
        self.outbox.put_nowait((code, live.CLOSE))

    async def _write(self) -> None:
        while True:
            if self.dropped and self.outbox.empty():
                # Frames were left out (`enqueue`): the client catches up with `since`.
                await self.close(code=live.CLOSE_RESYNC)
                return
            notification_id, frame = await self.outbox.get()
            if frame is live.CLOSE:
                await self.close(code=notification_id)  # a close carries its code there
                return
            if notification_id is not None and notification_id in self.replayed:
                continue
            await self.send(text_data=frame)

    async def disconnect(self, code):
        if hasattr(self, "hub"):
            await self._leave()
            logger.info("websocket closed", extra={"user_id": self.user_id, "code": code})

    async def __call__(self, scope, receive, send):
        try:
            return await super().__call__(scope, receive, send)
        finally:
            # A server that stops cancels its consumers without a disconnect (daphne): the
            # writer must not outlive this one (nothing may be left pending when the loop
            # stops: config/daphne.py).
            await self._leave()

    async def _leave(self) -> None:
        """Leave the hub and stop the writer; safe to call twice."""
        if hasattr(self, "hub"):
            self.hub.discard(self.user_id, self)
        writer = getattr(self, "writer", None)
        if writer is not None:
            writer.cancel()
            # A frame the writer was sending when the client left fails (the socket is
            # closed): nothing to report.
            await asyncio.gather(writer, return_exceptions=True)

    async def dispatch(self, message):
        # Channels closes stale database connections, a hop to a worker thread, before every
        # message it dispatches. Nothing here touches the database outside
        # database_sync_to_async (which closes them itself), and that hop was the largest
        # cost of each client frame, so it is skipped.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is None:
            await self._error("Send JSON text frames.")
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            await self._error("The frame is not valid JSON.")
            return
        if isinstance(message, dict) and message.get("type") == "ping":
            await self.send(text_data='{"type": "pong"}')
        else:
            await self._error('Unknown message; the only one accepted is {"type": "ping"}.')

    async def _error(self, detail: str) -> None:
        await self.send(text_data=json.dumps({"type": "error", "detail": detail}))


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """Any other websocket path: the handshake is refused (HTTP 403), as for a bad token."""

    async def connect(self):
        await self.close()
