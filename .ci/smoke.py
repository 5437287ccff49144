"""Client-side end-to-end checks of a running deployment: what a user of the API does.

Used by .ci/rehearse.py (the compose services as local processes) and by .ci/docker.sh (the
compose services as containers), or by hand against any deployment:

    .venv/bin/python .ci/smoke.py --api http://127.0.0.1:8000 --ws ws://127.0.0.1:8001 \\
        [--docs] [--avatar] [--save state.json]
    .venv/bin/python .ci/smoke.py --api http://127.0.0.1:8000 --check-saved state.json

The flow: register two users, sign in, follow, a websocket on the ws service receiving a
post made through the api service (so through the queue, a worker and the channel layer),
search, feed, inbox, readiness. `--docs`: /docs and every static file its page loads.
`--avatar`: a picture upload, served back as WebP. `--save` keeps what was made, so that
`--check-saved` can verify later (after `docker compose down` and `up`) that it is all
still there. Exits non-zero on the first failed check.
"""

import argparse
import asyncio
import io
import json
import os
import re
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import websockets


def log(message: str) -> None:
    print(f"[smoke] {message}", flush=True)


def check(condition: bool, what: str, detail: object = "") -> None:
    """Logs `what` when `condition` holds; else fails with it and `detail`."""
    if not condition:
        raise AssertionError(f"{what}: {detail}" if detail else what)
    log(f"ok: {what}")


def request(method: str, url: str, data=None, headers=None, timeout: float = 15):
    """(status, headers, body bytes) of one request; HTTP errors are answers, not raised."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def http(method: str, url: str, body: dict | None = None, token: str | None = None):
    """A JSON request: (status, parsed body)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    status, _, raw = request(method, url, data, headers)
    try:
        return status, (json.loads(raw) if raw else None)
    except ValueError:
        return status, raw[:200]


def sign_in(api: str, username: str, password: str) -> str:
    credentials = {"username": username, "password": password}
    status, body = http("POST", f"{api}/api/auth/login/", credentials)
    check(status == 200 and "access" in body, f"sign in as {username}", (status, body))
    return body["access"]


async def flow(api: str, ws: str) -> dict:
    """Two users, a follow and a live post; returns what it made."""
    suffix = uuid.uuid4().hex[:6]
    alice, bob = f"alice{suffix}", f"bob{suffix}"
    password = f"smoke-{uuid.uuid4().hex}"
    for name in (alice, bob):
        status, body = http(
            "POST", f"{api}/api/auth/register/", {"username": name, "password": password}
        )
        check(status == 201, f"register {name}", (status, body))
    tokens = {name: sign_in(api, name, password) for name in (alice, bob)}
    status, _ = http("POST", f"{api}/api/users/{bob}/follow/", token=tokens[alice])
    check(status == 201, f"{alice} follows {bob}")

    async with websockets.connect(
        f"{ws}/ws/notifications/?token={tokens[alice]}", open_timeout=10
    ) as socket_:
        log(f"ok: {alice}'s websocket is open on the ws service")
        word = f"smoke{suffix}"
        status, post = http(
            "POST", f"{api}/api/posts/", {"text": f"Hello from {word}"}, tokens[bob]
        )
        check(status == 201, f"{bob} posts through the api service")
        event = json.loads(await asyncio.wait_for(socket_.recv(), 20))
        check(
            event["type"] == "post.created" and event["post"]["id"] == post["id"],
            "the post reaches the websocket through the queue, a worker and the channel layer",
        )

    status, found = http("GET", f"{api}/api/posts/?q={word}", token=tokens[alice])
    check(status == 200 and [p["id"] for p in found["results"]] == [post["id"]], "search finds it")
    status, feed = http("GET", f"{api}/api/feed/", token=tokens[alice])
    check(status == 200 and feed["results"][0]["id"] == post["id"], "it heads the follower's feed")
    status, inbox = http("GET", f"{api}/api/notifications/", token=tokens[alice])
    check(status == 200 and inbox["results"][0]["id"] == event["id"], "and the inbox")
    status, ready = http("GET", f"{api}/readyz")
    check(status == 200 and ready["checks"] == {"database": "ok", "broker": "ok"}, "readyz")
    return {"username": alice, "password": password, "token": tokens[alice], "post": post["id"]}


def docs(api: str) -> None:
    """/docs renders, and every static file the page loads is served (from the image)."""
    status, _, page = request("GET", f"{api}/docs/")
    check(status == 200 and b"swagger" in page.lower(), "/docs renders")
    assets = sorted(set(re.findall(r'(?:src|href)="(/static/[^"]+)"', page.decode())))
    check(len(assets) >= 2, f"/docs loads its static files from this server: {assets}")
    for path in assets:
        status, _, body = request("GET", f"{api}{path}")
        check(status == 200 and len(body) > 100, f"{path} is served ({len(body)} bytes)")
    status, _, _ = request("GET", f"{api}/api/schema/")
    check(status == 200, "/api/schema/ is served")


def png() -> bytes:
    """A noisy 1000x1000 PNG of about 3 MB: over Django's 2.5 MB in-memory limit, so the
    server spools it to a temporary file (a tmpfs on the read-only container)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (1000, 1000), os.urandom(3_000_000)).save(buffer, format="PNG")
    return buffer.getvalue()


def avatar(api: str, token: str) -> str:
    """Uploads a picture; returns its URL, which serves it back as WebP."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="avatar"; filename="me.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + png()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, _, raw = request(
        "PUT",
        f"{api}/api/users/me/avatar/",
        body,
        {
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    check(status == 200, f"avatar upload ({len(body) // 1024} KiB)", (status, raw[:200]))
    url = json.loads(raw)["avatar_url"]
    status, _, picture = request("GET", url)
    check(
        status == 200 and picture[:4] == b"RIFF" and picture[8:12] == b"WEBP",
        f"the avatar is served back as WebP: {url}",
    )
    return url


def check_saved(api: str, saved: dict) -> None:
    """What an earlier run made is all still there."""
    token = sign_in(api, saved["username"], saved["password"])
    status, me = http("GET", f"{api}/api/users/me/", token=token)
    check(status == 200, "the account is still there")
    status, feed = http("GET", f"{api}/api/feed/", token=token)
    check(status == 200 and feed["results"][0]["id"] == saved["post"], "so is the feed")
    if saved.get("avatar_url"):
        check(me["avatar_url"] == saved["avatar_url"], "the profile keeps its picture")
        status, _, picture = request("GET", saved["avatar_url"])
        check(status == 200 and picture[8:12] == b"WEBP", "and the picture file is still served")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api", required=True, help="base URL of the REST API")
    parser.add_argument("--ws", help="base URL of the websocket server (ws://...)")
    parser.add_argument("--docs", action="store_true", help="check /docs and its static files")
    parser.add_argument("--avatar", action="store_true", help="upload a profile picture")
    parser.add_argument("--save", type=Path, help="write what was made to this JSON file")
    parser.add_argument("--check-saved", type=Path, help="verify what --save wrote is there")
    args = parser.parse_args()
    api = args.api.rstrip("/")
    try:
        if args.check_saved:
            check_saved(api, json.loads(args.check_saved.read_text()))
            return 0
        if not args.ws:
            parser.error("--ws is needed unless --check-saved")
        made = asyncio.run(flow(api, args.ws.rstrip("/")))
        if args.docs:
            docs(api)
        if args.avatar:
            made["avatar_url"] = avatar(api, made["token"])
        if args.save:
            args.save.write_text(json.dumps(made))
    except (AssertionError, OSError, TimeoutError, websockets.WebSocketException) as exc:
        log(f"FAILED: {exc!r}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
