"""Ended sessions close the websockets they opened (code 4401), and only those."""

import asyncio
import json

import pytest
import websockets
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from accounts import services
from common.testing import PASSWORD, access_token, make_user
from config.asgi import application
from notifications import live
from notifications.tests.e2e import Stack, ahttp, broker_url

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_db_connections"),
]

CLOSED = {"type": "websocket.close", "code": 4401}


@sync_to_async
def sign_in(username: str) -> dict:
    response = APIClient().post(
        "/api/auth/login/", {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    return response.json()


@sync_to_async
def post(path: str, body: dict, access: str | None = None):
    client = APIClient()
    if access:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.post(path, body, format="json")


async def open_socket(access: str) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(application, f"/ws/notifications/?token={access}")
    connected, _ = await comm.connect()
    assert connected
    return comm


async def assert_open(comm: WebsocketCommunicator) -> None:
    await comm.send_to(text_data='{"type": "ping"}')
    assert json.loads(await comm.receive_from(2)) == {"type": "pong"}


async def test_logout_closes_the_sockets_of_that_session_only():
    await sync_to_async(make_user)("alice")
    phone, laptop = await sign_in("alice"), await sign_in("alice")
    phone_ws, phone_ws2 = await open_socket(phone["access"]), await open_socket(phone["access"])
    laptop_ws = await open_socket(laptop["access"])
    response = await post("/api/auth/logout/", {"refresh": phone["refresh"]}, phone["access"])
    assert response.status_code == 204
    assert await phone_ws.receive_output(2) == CLOSED
    assert await phone_ws2.receive_output(2) == CLOSED
    await assert_open(laptop_ws)
    await laptop_ws.disconnect()


async def test_a_signed_out_token_cannot_open_a_socket():
    await sync_to_async(make_user)("alice")
    tokens = await sign_in("alice")
    assert (await post("/api/auth/logout/", {"refresh": tokens["refresh"]})).status_code == 204
    comm = WebsocketCommunicator(application, f"/ws/notifications/?token={tokens['access']}")
    connected, code = await comm.connect()
    assert not connected
    assert code == 4401


async def test_password_change_closes_the_other_sessions_sockets():
    alice = await sync_to_async(make_user)("alice")
    bob = await sync_to_async(make_user)("bob")
    caller, other = await sign_in("alice"), await sign_in("alice")
    caller_ws, other_ws = await open_socket(caller["access"]), await open_socket(other["access"])
    # A token of no session (minted outside sign-in) is not the caller's: it ends too.
    scripted_ws = await open_socket(await sync_to_async(access_token)(alice))
    bob_ws = await open_socket(await sync_to_async(access_token)(bob))
    response = await post(
        "/api/users/me/password/",
        {"old_password": PASSWORD, "new_password": "a-brand-new-passphrase-42"},
        caller["access"],
    )
    assert response.status_code == 204
    assert await other_ws.receive_output(2) == CLOSED
    assert await scripted_ws.receive_output(2) == CLOSED
    await assert_open(caller_ws)
    await assert_open(bob_ws)
    for comm in (caller_ws, bob_ws):
        await comm.disconnect()


async def test_logout_all_closes_every_socket_of_the_account():
    alice = await sync_to_async(make_user)("alice")
    await sync_to_async(make_user)("bob")
    first, second, bobs = await sign_in("alice"), await sign_in("alice"), await sign_in("bob")
    sockets = [
        await open_socket(first["access"]),
        await open_socket(second["access"]),
        # A token of no session (minted outside sign-in) ends with all sessions too.
        await open_socket(await sync_to_async(access_token)(alice)),
    ]
    bob_ws = await open_socket(bobs["access"])
    response = await post("/api/auth/logout/", {"all": True}, first["access"])
    assert response.status_code == 204
    for comm in sockets:
        assert await comm.receive_output(2) == CLOSED
    await assert_open(bob_ws)
    await bob_ws.disconnect()


def session_tokens(user) -> dict:
    refresh = services.session_start(user=user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


@pytest.fixture
async def stack(tmp_path):
    stack = Stack(tmp_path, broker_url())
    yield stack
    await asyncio.to_thread(stack.stop)


@pytest.mark.slow
async def test_a_logout_closes_the_sessions_socket_on_another_process(stack):
    """Signed out through the API process, the session's socket on the websocket process is
    closed (4401) through the worker and the RabbitMQ channel layer; another session's
    socket stays open."""
    alice = await sync_to_async(make_user)("alice")
    _, ws_base = await asyncio.to_thread(stack.websocket_server)
    _, api = await asyncio.to_thread(stack.api)
    stack.worker()
    try:
        # Signed in here: the processes do not know the test's fast password hasher.
        sessions = [await sync_to_async(session_tokens)(alice) for _ in range(2)]
        sockets = [
            await websockets.connect(
                f"{ws_base}/ws/notifications/",
                additional_headers={"Authorization": f"Bearer {tokens['access']}"},
            )
            for tokens in sessions
        ]
        status, _ = await ahttp("POST", f"{api}/api/auth/logout/", sessions[0]["access"], {})
        assert status == 204
        await asyncio.wait_for(sockets[0].wait_closed(), 20)
        assert sockets[0].close_code == 4401
        await sockets[1].send('{"type": "ping"}')
        assert json.loads(await asyncio.wait_for(sockets[1].recv(), 10)) == {"type": "pong"}
        await sockets[1].close()
    except BaseException:
        print(stack.logs())
        raise


class FakeSocket:
    def __init__(self, session_id: int, web_session: int = 0):
        self.session_id = session_id
        self.web_session = web_session
        self.closed = False

    def enqueue_close(self) -> None:
        self.closed = True

    def enqueue(self, notification_id, frame) -> None:
        raise AssertionError("a session message sends no frame")


WEB = {"web41", "web42"}


@pytest.mark.parametrize(
    ("message", "closed"),
    [
        (live.session_closed(user_id=1, session_id=7), {7}),
        (live.session_closed(user_id=1, session_id=0), {0}),
        (live.sessions_closed(user_id=1, keep_session_id=7), {0, 8, *WEB}),
        (live.sessions_closed(user_id=1, keep_session_id=0), {0, 7, 8, *WEB}),
        (live.session_closed(user_id=2, session_id=7), set()),
        (live.web_session_closed(user_id=1, web_session=41), {"web41"}),
        (live.web_session_closed(user_id=2, web_session=41), set()),
    ],
)
def test_the_hub_closes_the_sockets_a_session_message_names(message, closed):
    """Sockets of tokens (session ids 0, 7, 8) and of a browser's session cookie (session
    id -1, browser sessions 41 and 42): a token's sign-out leaves the browser's sockets,
    "every session" closes them, and a browser's sign-out closes its own."""
    hub = live.Hub(layer=None)
    sockets = {sid: FakeSocket(sid) for sid in (0, 7, 8)}
    sockets.update({f"web{n}": FakeSocket(-1, web_session=n) for n in (41, 42)})
    for socket in sockets.values():
        hub.sockets[1].add(socket)
    assert hub.dispatch(message) == len(closed)
    assert {sid for sid, socket in sockets.items() if socket.closed} == closed
