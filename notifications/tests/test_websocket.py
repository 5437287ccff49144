"""The websocket consumer, in the embedded mode (in-memory channel layer)."""

import asyncio
import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken

from common.testing import access_token, client_for, make_user
from config.asgi import application
from notifications.tests.e2e import wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_db_connections"),
]


def communicator(path="/ws/notifications/", token=None, headers=(), query=""):
    if token and not query:
        query = f"token={token}"
    url = f"{path}?{query}" if query else path
    return WebsocketCommunicator(application, url, headers=list(headers))


async def receive(comm):
    return json.loads(await comm.receive_from(2))


@sync_to_async
def setup_pair():
    alice, bob = make_user("alice"), make_user("bob")
    client_for(alice).post("/api/users/bob/follow/")
    return alice, bob


@sync_to_async
def post_as(user, text):
    response = client_for(user).post("/api/posts/", {"text": text}, format="json")
    assert response.status_code == 201
    return response.json()


async def test_no_token_is_refused():
    comm = communicator()
    connected, code = await comm.connect()
    assert not connected
    assert code == 4401


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
async def test_bad_token_is_refused(token):
    comm = communicator(query=f"token={token}")
    connected, _ = await comm.connect()
    assert not connected


async def test_expired_token_is_refused():
    user = await sync_to_async(make_user)("alice")
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    connected, _ = await communicator(token=str(token)).connect()
    assert not connected


async def test_token_of_a_deleted_user_is_refused():
    user = await sync_to_async(make_user)("alice")
    token = await sync_to_async(access_token)(user)
    await sync_to_async(user.delete)()
    connected, _ = await communicator(token=token).connect()
    assert not connected


async def test_header_token_and_ping():
    user = await sync_to_async(make_user)("alice")
    token = await sync_to_async(access_token)(user)
    comm = communicator(headers=[(b"authorization", f"Bearer {token}".encode())])
    connected, _ = await comm.connect()
    assert connected
    await comm.send_to(text_data=json.dumps({"type": "ping"}))
    assert await receive(comm) == {"type": "pong"}
    await comm.disconnect()


@pytest.mark.parametrize(
    "frame",
    [
        {"text_data": "not json"},
        {"text_data": json.dumps({"type": "subscribe"})},
        {"text_data": json.dumps([1, 2, 3])},
        {"text_data": "null"},
        {"bytes_data": b"\x00\x01"},
    ],
)
async def test_malformed_frames_get_an_error_and_the_socket_lives(frame):
    user = await sync_to_async(make_user)("alice")
    comm = communicator(token=await sync_to_async(access_token)(user))
    assert (await comm.connect())[0]
    await comm.send_to(**frame)
    reply = await receive(comm)
    assert reply["type"] == "error"
    assert reply["detail"]
    await comm.send_to(text_data='{"type": "ping"}')
    assert await receive(comm) == {"type": "pong"}
    await comm.disconnect()


async def test_live_post_created_reaches_followers_only():
    alice, bob = await setup_pair()
    carol = await sync_to_async(make_user)("carol")
    alice_ws = communicator(token=await sync_to_async(access_token)(alice))
    carol_ws = communicator(token=await sync_to_async(access_token)(carol))
    assert (await alice_ws.connect())[0]
    assert (await carol_ws.connect())[0]
    created = await post_as(bob, "live!")
    event = await receive(alice_ws)
    assert event["type"] == "post.created"
    assert event["post"] == created
    assert isinstance(event["id"], int)
    assert event["created_at"].endswith("Z")
    assert await carol_ws.receive_nothing(timeout=0.3)
    await alice_ws.disconnect()
    await carol_ws.disconnect()


async def test_follow_created_event():
    alice, bob = await sync_to_async(make_user)("alice"), await sync_to_async(make_user)("bob")
    bob_ws = communicator(token=await sync_to_async(access_token)(bob))
    assert (await bob_ws.connect())[0]
    await sync_to_async(lambda: client_for(alice).post("/api/users/bob/follow/"))()
    event = await receive(bob_ws)
    assert event["type"] == "follow.created"
    assert event["follower"]["username"] == "alice"
    assert event["follower"]["following_count"] == 1
    await bob_ws.disconnect()


async def test_post_deleted_event():
    alice, bob = await setup_pair()
    alice_ws = communicator(token=await sync_to_async(access_token)(alice))
    assert (await alice_ws.connect())[0]
    created = await post_as(bob, "short-lived")
    assert (await receive(alice_ws))["type"] == "post.created"
    response = await sync_to_async(lambda: client_for(bob).delete(f"/api/posts/{created['id']}/"))()
    assert response.status_code == 204
    assert await receive(alice_ws) == {"type": "post.deleted", "post_id": created["id"]}
    await alice_ws.disconnect()


@pytest.mark.parametrize("how", ["deleted", "deactivated"])
async def test_a_closed_account_loses_its_open_sockets(how):
    """Deleting an account, or an admin deactivating it, closes its open websockets (4401);
    other accounts' sockets stay open."""
    alice, bob = await setup_pair()
    admin = await sync_to_async(make_user)("chief", role="admin")
    alice_ws = communicator(token=await sync_to_async(access_token)(alice))
    bob_ws = communicator(token=await sync_to_async(access_token)(bob))
    assert (await alice_ws.connect())[0] and (await bob_ws.connect())[0]
    if how == "deleted":
        response = await sync_to_async(lambda: client_for(alice).delete("/api/users/me/"))()
        assert response.status_code == 204
    else:
        response = await sync_to_async(
            lambda: client_for(admin).patch(
                "/api/users/alice/", {"is_active": False}, format="json"
            )
        )()
        assert response.status_code == 200
    assert await alice_ws.receive_output(2) == {"type": "websocket.close", "code": 4401}
    await bob_ws.send_to(text_data='{"type": "ping"}')
    assert await receive(bob_ws) == {"type": "pong"}
    await bob_ws.disconnect()


async def test_since_replays_oldest_first_then_goes_live_without_duplicates():
    alice, bob = await setup_pair()
    posted = [await post_as(bob, f"missed {index}") for index in range(3)]
    from notifications.models import Notification

    ids = await sync_to_async(
        lambda: list(
            Notification.objects.filter(recipient=alice).order_by("id").values_list("id", flat=True)
        )
    )()
    comm = communicator(query=f"token={await sync_to_async(access_token)(alice)}&since={ids[0]}")
    assert (await comm.connect())[0]
    replayed = [await receive(comm), await receive(comm)]
    assert [e["id"] for e in replayed] == ids[1:]
    assert [e["post"]["text"] for e in replayed] == ["missed 1", "missed 2"]
    assert all(e["type"] == "post.created" and "read" not in e for e in replayed)
    assert replayed[0]["post"] == posted[1]
    live = await post_as(bob, "now")
    event = await receive(comm)
    assert event["post"] == live
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_since_zero_replays_everything():
    alice, bob = await setup_pair()
    for index in range(2):
        await post_as(bob, f"p{index}")
    comm = communicator(query=f"token={await sync_to_async(access_token)(alice)}&since=0")
    assert (await comm.connect())[0]
    events = [await receive(comm), await receive(comm)]
    assert [e["post"]["text"] for e in events] == ["p0", "p1"]
    await comm.disconnect()


async def test_live_frames_already_replayed_are_skipped():
    """A frame that arrived while the replay ran is not delivered twice."""
    from notifications.consumers import NotificationConsumer

    consumer = NotificationConsumer()
    consumer.replayed = {41}
    consumer.outbox = asyncio.Queue()
    sent = []

    async def send(text_data=None, bytes_data=None, close=False):
        sent.append(json.loads(text_data))

    consumer.send = send
    consumer.enqueue(41, json.dumps({"id": 41}))
    consumer.enqueue(42, json.dumps({"id": 42}))
    consumer.enqueue(None, json.dumps({"type": "post.deleted", "post_id": 1}))
    writer = asyncio.create_task(consumer._write())
    await asyncio.sleep(0.05)
    writer.cancel()
    assert sent == [{"id": 42}, {"type": "post.deleted", "post_id": 1}]


async def test_a_slow_client_drops_frames_without_blocking_others(monkeypatch):
    from notifications import consumers

    monkeypatch.setattr(consumers, "OUTBOX_SIZE", 2)
    consumer = consumers.NotificationConsumer()
    consumer.user_id, consumer.dropped = 1, 0
    consumer.outbox = asyncio.Queue(maxsize=2)
    for index in range(5):
        consumer.enqueue(index, "{}")
    assert consumer.outbox.qsize() == 2
    assert consumer.dropped == 3


def recording_consumer(outbox_size: int):
    """A consumer of user 1, with no socket: the ids of the frames it sends, and the codes
    it closes with, are recorded."""
    from notifications.consumers import NotificationConsumer

    consumer = NotificationConsumer()
    consumer.user_id, consumer.replayed = 1, set()
    consumer.outbox = asyncio.Queue(maxsize=outbox_size)
    sent, closed = [], []

    async def send(text_data=None, bytes_data=None, close=False):
        sent.append(json.loads(text_data)["id"])

    async def close(code=None, reason=None):
        closed.append(code)

    consumer.send, consumer.close = send, close
    return consumer, sent, closed


async def test_after_a_dropped_frame_the_queued_ones_go_then_the_socket_closes_1012():
    """Nothing newer than a frame left out reaches the client, even once the outbox has
    room again: the client's last id stays below the one it missed, and the close asks it
    to catch up with `since`."""
    from notifications import live

    consumer, sent, closed = recording_consumer(outbox_size=2)
    for notification_id in (1, 2, 3):  # 3 does not fit
        consumer.enqueue(notification_id, json.dumps({"id": notification_id}))
    writer = asyncio.create_task(consumer._write())
    await asyncio.sleep(0)
    consumer.enqueue(4, json.dumps({"id": 4}))  # room again, but newer than the one left out
    await asyncio.wait_for(writer, 1)
    assert sent == [1, 2]
    assert closed == [live.CLOSE_RESYNC]
    assert consumer.dropped == 2


@pytest.mark.parametrize("code", [4401, 1012])
async def test_a_close_for_a_client_too_slow_goes_before_the_frames_it_has_not_taken(code):
    """A session signed out (4401), or live messages lost (1012), while the socket's outbox
    is full: the writer closes the socket next, without the queued frames, and nothing runs
    on beside it (a close sent from a task of its own fails, unread, when the client has
    gone)."""
    consumer, sent, closed = recording_consumer(outbox_size=2)
    consumer.enqueue(1, json.dumps({"id": 1}))
    consumer.enqueue(2, json.dumps({"id": 2}))
    tasks = asyncio.all_tasks()
    consumer.enqueue_close(code)
    consumer.enqueue_close(1012 if code == 4401 else 4401)  # the first close stands

    assert asyncio.all_tasks() == tasks
    await asyncio.wait_for(consumer._write(), 1)
    assert sent == []
    assert closed == [code]


async def test_a_client_too_slow_for_its_frames_catches_up_after_reconnecting(monkeypatch):
    from notifications import consumers, live
    from notifications.models import Notification

    monkeypatch.setattr(consumers, "OUTBOX_SIZE", 2)
    alice, bob = await setup_pair()
    token = await sync_to_async(access_token)(alice)
    comm = communicator(token=token)
    assert (await comm.connect())[0]
    # The client stops reading: the socket's first send waits until it reads again.
    (socket,) = live.hub().sockets[alice.pk]
    reading = asyncio.Event()
    send = socket.send

    async def slow_send(*args, **kwargs):
        await reading.wait()
        return await send(*args, **kwargs)

    socket.send = slow_send
    # The first frame waits in the stalled send, the next two fill the outbox, and the
    # rest are left out (one more waits in the outbox if two arrive before the send).
    for index in range(5):
        await post_as(bob, f"p{index}")
    await wait_for(lambda: socket.dropped >= 2, 10, 0.02, "the frames did not all arrive")
    reading.set()
    received = []
    while (output := await comm.receive_output(2))["type"] == "websocket.send":
        received.append(json.loads(output["text"]))
    assert output == {"type": "websocket.close", "code": 1012}
    texts = [event["post"]["text"] for event in received]
    assert 2 <= len(texts) <= 3
    assert texts == [f"p{index}" for index in range(len(texts))]
    ids = await sync_to_async(
        lambda: list(
            Notification.objects.filter(recipient=alice).order_by("id").values_list("id", flat=True)
        )
    )()
    assert [event["id"] for event in received] == ids[: len(received)]
    # Reconnecting with the last id it saw brings the ones it missed, then live again.
    again = communicator(query=f"token={token}&since={received[-1]['id']}")
    assert (await again.connect())[0]
    missed = [await receive(again) for _ in range(5 - len(received))]
    assert [event["post"]["text"] for event in missed] == [
        f"p{index}" for index in range(len(received), 5)
    ]
    await post_as(bob, "p5")
    assert (await receive(again))["post"]["text"] == "p5"
    await again.disconnect()


def test_live_batches_become_one_frame_per_recipient():
    from notifications import live

    message = live.notification(
        event="post.created",
        body={"post": {"id": 7, "text": "hi"}},
        created_at="2026-11-27T18:20:00Z",
        recipients=[[1, 10], [2, 11]],
    )
    frames = [(user, nid, json.loads(text)) for user, nid, text in live.frames(message)]
    assert frames == [
        (
            1,
            10,
            {
                "type": "post.created",
                "id": 10,
                "created_at": "2026-11-27T18:20:00Z",
                "post": {"id": 7, "text": "hi"},
            },
        ),
        (
            2,
            11,
            {
                "type": "post.created",
                "id": 11,
                "created_at": "2026-11-27T18:20:00Z",
                "post": {"id": 7, "text": "hi"},
            },
        ),
    ]
    deleted = list(live.frames(live.post_deleted(post_id=7, recipients=[3])))
    assert [(u, n, json.loads(t)) for u, n, t in deleted] == [
        (3, None, {"type": "post.deleted", "post_id": 7})
    ]


@pytest.mark.parametrize("since", ["abc", "-3", "1e5"])
async def test_bad_since_is_answered_not_fatal(since):
    user = await sync_to_async(make_user)("alice")
    comm = communicator(query=f"token={await sync_to_async(access_token)(user)}&since={since}")
    assert (await comm.connect())[0]
    reply = await receive(comm)
    assert reply["type"] == "error"
    await comm.send_to(text_data='{"type": "ping"}')
    assert await receive(comm) == {"type": "pong"}
    await comm.disconnect()


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        (None, True),
        (b"http://localhost:8000", True),
        (b"http://127.0.0.1:8000", True),
        (b"https://evil.example.com", False),
    ],
)
async def test_browser_origins_are_checked(origin, accepted):
    user = await sync_to_async(make_user)("alice")
    headers = [(b"origin", origin)] if origin else []
    comm = communicator(token=await sync_to_async(access_token)(user), headers=headers)
    connected, _ = await comm.connect()
    assert connected is accepted
    if connected:
        await comm.disconnect()


async def test_unknown_path_is_refused():
    user = await sync_to_async(make_user)("alice")
    for path in ("/ws/elsewhere/", "/api/posts/", "/"):
        comm = communicator(path=path, token=await sync_to_async(access_token)(user))
        connected, _ = await comm.connect()
        assert connected is False


async def test_a_handshake_the_stopping_server_answered_itself_ends_quietly(caplog):
    """uvicorn, stopping while a handshake waits for the consumer's accept, answers the
    handshake itself and raises RuntimeError for the accept that follows."""
    from notifications import live

    user = await sync_to_async(make_user)("alice")
    token = await sync_to_async(access_token)(user)
    scope = {
        "type": "websocket",
        "path": "/ws/notifications/",
        "query_string": f"token={token}".encode(),
        "headers": [],
        "subprotocols": [],
    }
    events: asyncio.Queue = asyncio.Queue()
    await events.put({"type": "websocket.connect"})
    sent = []

    async def send(message):
        sent.append(message["type"])
        if message["type"] == "websocket.accept":
            await events.put({"type": "websocket.disconnect", "code": 1006})
            raise RuntimeError(
                "Expected ASGI message 'websocket.send' or 'websocket.close', but got "
                "'websocket.accept'."
            )

    await asyncio.wait_for(application(scope, events.get, send), 10)
    assert sent == ["websocket.accept"]
    assert "ended by the server before it was accepted" in caplog.text
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert user.pk not in live.hub().sockets


async def test_a_refusal_the_stopping_server_answered_itself_ends_quietly(caplog):
    """The same race for a handshake refused because the database is down."""
    from notifications.auth import refuse_unavailable

    events: asyncio.Queue = asyncio.Queue()
    await events.put({"type": "websocket.connect"})
    sent = []

    async def send(message):
        sent.append(message["type"])
        raise RuntimeError(
            "Expected ASGI message 'websocket.send' or 'websocket.close', but got "
            "'websocket.http.response.start'."
        )

    scope = {"type": "websocket", "extensions": {"websocket.http.response": {}}}
    await asyncio.wait_for(refuse_unavailable(scope, events.get, send), 5)
    assert sent == ["websocket.http.response.start"]
    assert "ended by the server before it was refused" in caplog.text
