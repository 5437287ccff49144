import asyncio
import contextlib
import json
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from notifications import events, selectors
from notifications.serializers import notification_event

logger = logging.getLogger("warble.websocket")

REPLAY_BATCH = 500
CLOSE_UNAUTHORIZED = 4401
CLOSE_TRY_AGAIN_LATER = 1013


def _replay_page(user_id: int, after: int) -> list[dict]:
    return [
        notification_event(n)
        for n in selectors.notifications_after(user_id=user_id, after=after, limit=REPLAY_BATCH)
    ]


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

    On connect: refuse without a valid token; join the user's group first, then replay every
    persisted notification after `?since=` oldest first, so nothing committed meanwhile is
    missed. Live events that the replay already sent are skipped (no duplicates).
    Client frames: `{"type": "ping"}` gets `{"type": "pong"}`; anything else gets an
    `error` frame; nothing a client sends closes the socket."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        since = _since(self.scope)
        self.user_id = user.pk
        self.group = events.user_group(user.pk)
        self.replayed: set[int] = set()
        try:
            await asyncio.wait_for(
                self.channel_layer.group_add(self.group, self.channel_name),
                settings.PUBLISH_TIMEOUT,
            )
        except Exception:
            logger.warning("websocket refused: channel layer unavailable", exc_info=True)
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        self.joined = True
        await self.accept()
        logger.info("websocket connected", extra={"user_id": self.user_id})
        if since == -1:
            await self._error("`since` must be a non-negative integer notification id.")
        elif since is not None:
            await self._replay(since)

    async def _replay(self, since: int) -> None:
        after = since
        while page := await database_sync_to_async(_replay_page)(self.user_id, after):
            for event in page:
                self.replayed.add(event["id"])
                await self.send(text_data=json.dumps(event))
            after = page[-1]["id"]

    async def disconnect(self, code):
        if getattr(self, "joined", False):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self.channel_layer.group_discard(self.group, self.channel_name),
                    settings.PUBLISH_TIMEOUT,
                )
            logger.info("websocket closed", extra={"user_id": self.user_id, "code": code})

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

    # Group events, named after their types.

    async def _forward(self, event: dict) -> None:
        if event.get("id") in self.replayed:
            return
        await self.send(text_data=json.dumps(event))

    post_created = _forward
    follow_created = _forward

    async def post_deleted(self, event: dict) -> None:
        await self.send(text_data=json.dumps(event))
