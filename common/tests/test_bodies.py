"""Request bodies: chunked uploads and oversize bodies, under each server the product runs."""

import contextlib
import http.client
import io
import json
import socket
import threading

import pytest
from PIL import Image

from common.bodies import body_limit
from common.testing import access_token, make_user
from notifications.tests.e2e import Stack
from posts.models import Post

pytestmark = pytest.mark.django_db(transaction=True)


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(buffer, "PNG")
    return buffer.getvalue()


def multipart(field: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = "warble-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"'
            f"\r\nContent-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def send(host: str, method: str, path: str, token: str, chunks, content_type: str, length=None):
    """A request whose body goes chunked (Transfer-Encoding: chunked) unless `length` is
    announced; returns (status, parsed JSON body). The body is written while the response is
    read: a server may answer before it has read all of a body it refuses."""
    address, port = host.rsplit(":", 1)
    sock = socket.create_connection((address, int(port)), timeout=30)
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {content_type}\r\n{framing}\r\nConnection: close\r\n\r\n"
    )

    def write():
        try:
            sock.sendall(head.encode())
            for chunk in chunks:
                if length is None:
                    chunk = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
                sock.sendall(chunk)
            if length is None:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed before reading everything

    writer = threading.Thread(target=write)
    writer.start()
    try:
        response = http.client.HTTPResponse(sock)
        response.begin()
        raw = response.read()
    finally:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # stops a writer still sending
        writer.join()
        sock.close()
    return response.status, json.loads(raw) if raw else None


def in_pieces(data: bytes, size: int = 1000) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]


@pytest.fixture(params=["gunicorn", "daphne", "uvicorn"])
def server(request, tmp_path):
    """Host and port of the API served as production (gunicorn, uvicorn) and the embedded
    mode (daphne) serve it."""
    stack = Stack(tmp_path, broker=None)
    try:
        if request.param == "gunicorn":
            _, base = stack.api()
            yield base.removeprefix("http://")
        elif request.param == "daphne":
            _, host = stack.embedded()
            yield host
        else:
            _, base = stack.websocket_server("uvicorn")
            yield base.removeprefix("ws://")
    finally:
        stack.stop()


def test_chunked_bodies_arrive_whole(server):
    user = make_user("alice")
    token = access_token(user)
    text = "sent in pieces " * 10
    status, created = send(
        server,
        "POST",
        "/api/posts/",
        token,
        in_pieces(json.dumps({"text": text}).encode(), 16),
        "application/json",
    )
    assert status == 201, created
    assert created["text"] == text.strip()

    body, content_type = multipart("avatar", "me.png", png_bytes())
    status, me = send(server, "PUT", "/api/users/me/avatar/", token, in_pieces(body), content_type)
    assert status == 200, me
    assert me["avatar_url"]


def test_oversize_bodies_are_refused_the_same_way_chunked_or_not(server, settings):
    user = make_user("alice")
    token = access_token(user)
    too_big = body_limit() + 1
    over_avatar_limit = b"\0" * too_big

    body, content_type = multipart("avatar", "huge.png", over_avatar_limit)
    for length in (len(body), None):
        status, error = send(
            server,
            "PUT",
            "/api/users/me/avatar/",
            token,
            in_pieces(body, 65536),
            content_type,
            length,
        )
        assert status == 400, (length, error)
        assert "larger than" in error["avatar"][0]

    body = json.dumps({"text": "x" * too_big}).encode()
    for length in (len(body), None):
        status, error = send(
            server, "POST", "/api/posts/", token, in_pieces(body, 65536), "application/json", length
        )
        assert status == 413, (length, error)
        assert error == {"detail": "Request body too large."}
    assert not Post.objects.exists()
