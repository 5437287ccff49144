"""The websocket floor of `bench/realtime.py`: a bare ASGI app, served by the same uvicorn with
the same options as the product's websocket process, that does nothing but push frames.

Each websocket connection is accepted at once and served by its own task, which sends
what a queue hands it (as a Channels consumer sends what the channel layer hands it).
`GET /burst?frames=N&bytes=B` puts N frames of about B bytes (a JSON notification) into
every connection's queue, and answers when they are queued. `GET /healthz` answers 200.
Frames per second received by the clients of this app is the most this machine's uvicorn
and client can move: the product's burst rate is stated as a ratio to it.

    uvicorn bench.ws_floor:app --port 8713 --lifespan off --ws-per-message-deflate false
"""

import asyncio
import json
from urllib.parse import parse_qs

_queues: set[asyncio.Queue] = set()


def _frame(index: int, size: int) -> str:
    body = {
        "type": "post.created",
        "id": index,
        "created_at": "2026-12-01T08:00:00.000000Z",
        "read": False,
        "post": {"id": index, "text": ""},
    }
    padding = max(0, size - len(json.dumps(body)))
    body["post"]["text"] = "x" * padding
    return json.dumps(body)


async def _websocket(scope, receive, send) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    queue: asyncio.Queue = asyncio.Queue()
    _queues.add(queue)

    async def pump():
        while True:
            await send({"type": "websocket.send", "text": await queue.get()})

    sender = asyncio.create_task(pump())
    try:
        while (await receive())["type"] != "websocket.disconnect":
            pass
    finally:
        sender.cancel()
        _queues.discard(queue)


async def _http(scope, receive, send) -> None:
    status, body = 404, b""
    if scope["path"] == "/healthz":
        status, body = 200, b"ok"
    elif scope["path"] == "/burst":
        query = parse_qs(scope["query_string"].decode())
        frames = int(query.get("frames", ["100"])[0])
        size = int(query.get("bytes", ["600"])[0])
        texts = [_frame(index, size) for index in range(frames)]
        for text in texts:
            for queue in list(_queues):
                queue.put_nowait(text)
        status, body = 200, json.dumps({"clients": len(_queues), "frames": frames}).encode()
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send) -> None:
    if scope["type"] == "websocket":
        await _websocket(scope, receive, send)
    elif scope["type"] == "http":
        await _http(scope, receive, send)
