"""The notification pipeline end to end, with real processes: API servers (gunicorn), websocket
servers (uvicorn), fan-out workers, the real RabbitMQ, and websocket clients."""

import asyncio
import collections
import io
import json
import time
from urllib.parse import urlparse

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.core.management import call_command

from accounts.models import User
from common.testing import access_token, free_port, make_user
from follows.models import Follow
from notifications.models import Notification
from notifications.tests.e2e import Stack, TcpProxy, ahttp, broker_url, wait_for
from posts.models import Post, TimelineEntry

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_db_connections"),
    pytest.mark.slow,
]


@pytest.fixture
def broker():
    return broker_url()


@pytest.fixture
async def stack(tmp_path, broker):
    stack = Stack(tmp_path, broker)
    yield stack
    await asyncio.to_thread(stack.stop)
    await _delete_queue(broker, stack.queue)


async def _delete_queue(broker: str, queue: str) -> None:
    import aio_pika

    try:
        connection = await aio_pika.connect(broker, timeout=5)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(queue)
    except Exception:  # noqa: S110 (best-effort cleanup of a test queue)
        pass


@sync_to_async
def author_with_followers(count: int, prefix: str = "fan"):
    author = make_user("author")
    fans = [make_user(f"{prefix}{index}") for index in range(count)]
    Follow.objects.bulk_create([Follow(follower=fan, followee=author) for fan in fans])
    # Written in bulk, so the counts the services keep are set here.
    User.objects.filter(pk=author.pk).update(followers_count=count)
    User.objects.filter(pk__in=[fan.pk for fan in fans]).update(following_count=1)
    return author, fans


@sync_to_async
def tokens_for(*users) -> list[str]:
    return [access_token(user) for user in users]


async def connect(ws_base: str, token: str, since: int | None = None):
    query = f"?since={since}" if since is not None else ""
    return await websockets.connect(
        f"{ws_base}/ws/notifications/{query}",
        additional_headers={"Authorization": f"Bearer {token}"},
        max_queue=None,
    )


async def next_event(socket, timeout: float = 10.0) -> dict:
    return json.loads(await asyncio.wait_for(socket.recv(), timeout))


async def start_stack(stack) -> tuple[str, str]:
    """A websocket server, the API and a fan-out worker, each its own process."""
    _, ws_base = await asyncio.to_thread(stack.websocket_server)
    _, api = await asyncio.to_thread(stack.api)
    stack.worker()
    return ws_base, api


def run_with_logs(stack):
    """Wrap a coroutine so a failure shows the processes' logs."""

    async def runner(coro):
        try:
            return await coro
        except BaseException:
            print(stack.logs())
            raise

    return runner


async def test_cross_process_delivery(stack):
    """A websocket on one server process gets a post created through another process, with
    the fan-out worker as a third."""
    author, (fan,) = await author_with_followers(1)
    author_token, fan_token = await tokens_for(author, fan)
    ws_base, api = await start_stack(stack)
    run = run_with_logs(stack)

    async def scenario():
        socket = await connect(ws_base, fan_token)
        status, created = await ahttp("POST", f"{api}/api/posts/", author_token, {"text": "hi!"})
        assert status == 201
        event = await next_event(socket, timeout=15)
        assert event["type"] == "post.created"
        assert event["post"] == created
        inbox = (await ahttp("GET", f"{api}/api/notifications/", fan_token))[1]["results"]
        assert [n["id"] for n in inbox] == [event["id"]]
        feed = (await ahttp("GET", f"{api}/api/feed/", fan_token))[1]["results"]
        assert [p["id"] for p in feed] == [created["id"]]
        await socket.close()

    await run(scenario())


def json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


async def test_requests_and_jobs_are_logged_as_json_with_one_request_id(stack):
    """One structured line per request and per worker job; the job carries the id of the
    request that caused it; no token or password is ever written."""
    author, (fan,) = await author_with_followers(1)
    (author_token,) = await tokens_for(author)
    api_process, api = await asyncio.to_thread(stack.api, LOG_FORMAT="json")
    worker = stack.worker(LOG_FORMAT="json")
    status, created = await ahttp(
        "POST",
        f"{api}/api/posts/",
        author_token,
        {"text": "traced"},
        headers={"X-Request-ID": "trace-me-123"},
    )
    assert status == 201
    await _wait_notified(fan, 1)

    async def job_logged():
        return any(
            line.get("message") == "job done" and line.get("post_id") == created["id"]
            for line in json_lines(worker.output())
        )

    await wait_for(job_logged, 10, message="no job line in the worker log")
    job = next(
        line
        for line in json_lines(worker.output())
        if line.get("message") == "job done" and line.get("post_id") == created["id"]
    )
    assert job["request_id"] == "trace-me-123"
    assert job["recipients"] == 1
    (request_line,) = [
        line
        for line in json_lines(api_process.output())
        if line.get("logger") == "warble.request" and line.get("path") == "/api/posts/"
    ]
    assert request_line["request_id"] == "trace-me-123"
    assert request_line["status"] == 201 and request_line["method"] == "POST"
    assert isinstance(request_line["duration_ms"], float)
    assert author_token not in stack.logs()


async def test_auth_on_the_real_server(stack):
    """No token, a bad token, an expired token: refused. Another user's events never reach
    a socket."""
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    author, (fan,) = await author_with_followers(1)
    outsider = await sync_to_async(make_user)("outsider")
    author_token, outsider_token = await tokens_for(author, outsider)
    ws_base, api = await start_stack(stack)

    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{ws_base}/ws/notifications/", additional_headers=headers)
        assert refused.value.response.status_code == 403
    expired = await sync_to_async(AccessToken.for_user)(fan)
    expired.set_exp(lifetime=-timedelta(seconds=1))
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(f"{ws_base}/ws/notifications/?token={expired}")

    # Browsers put the token in the query string, which servers log: it must not get there.
    socket = await websockets.connect(f"{ws_base}/ws/notifications/?token={outsider_token}")
    status, _ = await ahttp("POST", f"{api}/api/posts/", author_token, {"text": "not for you"})
    assert status == 201
    await _wait_notified(fan, 1)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(socket.recv(), 1.0)
    await socket.close()
    # Tokens never reach the logs.
    assert author_token not in stack.logs()
    assert outsider_token not in stack.logs()


@sync_to_async
def _count_notifications(user) -> int:
    return Notification.objects.filter(recipient=user).count()


async def _wait_notified(user, count: int, timeout: float = 20) -> None:
    async def done():
        return await _count_notifications(user) >= count

    await wait_for(done, timeout, message=f"{user} did not get {count} notifications")


async def test_broker_outage_loses_nothing(stack, broker, tmp_path):
    """Posts made while the broker is unreachable return 201 at once; once it is back every
    follower ends with each notification exactly once, live or by `since` replay."""
    parsed = urlparse(broker)
    proxy = TcpProxy(parsed.hostname, parsed.port or 5672)
    await proxy.start()
    through_proxy = broker.replace(
        f"{parsed.hostname}:{parsed.port or 5672}", f"127.0.0.1:{proxy.port}"
    )
    stack.broker = through_proxy
    author, fans = await author_with_followers(5)
    author_token, *fan_tokens = await tokens_for(author, *fans)
    ws_base, api = await start_stack(stack)
    run = run_with_logs(stack)

    async def scenario():
        received: dict[int, list[int]] = collections.defaultdict(list)
        sockets = [await connect(ws_base, token) for token in fan_tokens]

        async def listen(index, socket):
            try:
                async for frame in socket:
                    event = json.loads(frame)
                    if event.get("type") == "post.created":
                        received[index].append(event["id"])
            except websockets.ConnectionClosed:
                pass

        listeners = [asyncio.create_task(listen(i, s)) for i, s in enumerate(sockets)]
        # One post before the outage, delivered live.
        assert (await ahttp("POST", f"{api}/api/posts/", author_token, {"text": "before"}))[
            0
        ] == 201
        await wait_for(lambda: all(len(received[i]) == 1 for i in range(5)), 15)

        await proxy.cut()
        timings = []
        for index in range(4):
            started = time.monotonic()
            status, _ = await ahttp(
                "POST", f"{api}/api/posts/", author_token, {"text": f"during {index}"}
            )
            timings.append(time.monotonic() - started)
            assert status == 201
        # Bounded by the publish timeout (1 s here), then failing fast.
        assert max(timings) < 2.5, timings
        assert await sync_to_async(Post.objects.filter(published_at__isnull=True).count)() == 4

        await proxy.restore()
        for fan in fans:
            await _wait_notified(fan, 5, timeout=60)
        # Catch up what was missed live with `since` replay from the last id each socket saw;
        # a 1012 close (the process's live group was interrupted) asks for the same again.
        for index, token in enumerate(fan_tokens):
            while True:
                socket = await connect(ws_base, token, since=max(received[index]))
                try:
                    while True:
                        try:
                            event = await next_event(socket, timeout=1.5)
                        except TimeoutError:
                            break
                        if event["type"] == "post.created":
                            received[index].append(event["id"])
                except websockets.ConnectionClosed as closed:
                    if closed.rcvd is None or closed.rcvd.code != 1012:
                        raise
                    continue
                await socket.close()
                break
        for task in listeners:
            task.cancel()
        for index, fan in enumerate(fans):
            persisted = await sync_to_async(
                lambda f=fan: sorted(
                    Notification.objects.filter(recipient=f).values_list("id", flat=True)
                )
            )()
            assert len(persisted) == 5
            assert sorted(set(received[index])) == persisted
        assert await sync_to_async(Post.objects.filter(published_at__isnull=True).count)() == 0

    try:
        await run(scenario())
    finally:
        await proxy.cut()


async def test_likes_during_a_broker_outage_are_notified_once_it_is_back(stack, broker):
    """Events other than a post's own (here post.liked and post.unliked) wait in the outbox
    while the broker is unreachable; the worker's sweeper hands them over once it is back."""
    from common.models import OutboxEvent

    parsed = urlparse(broker)
    proxy = TcpProxy(parsed.hostname, parsed.port or 5672)
    await proxy.start()
    stack.broker = broker.replace(
        f"{parsed.hostname}:{parsed.port or 5672}", f"127.0.0.1:{proxy.port}"
    )
    author, fans = await author_with_followers(2)
    author_token, keeps, changes_mind = await tokens_for(author, *fans)
    _, api = await start_stack(stack)
    run = run_with_logs(stack)

    async def scenario():
        status, post = await ahttp("POST", f"{api}/api/posts/", author_token, {"text": "like?"})
        assert status == 201
        await proxy.cut()
        like = f"{api}/api/posts/{post['id']}/like/"
        assert (await ahttp("POST", like, keeps))[0] == 201
        assert (await ahttp("POST", like, changes_mind))[0] == 201
        assert (await ahttp("DELETE", like, changes_mind))[0] == 204
        assert await sync_to_async(OutboxEvent.objects.count)() == 3
        await proxy.restore()

        async def swept():
            return await sync_to_async(OutboxEvent.objects.count)() == 0

        await wait_for(swept, 60, message="the outbox was not swept")
        liked = sync_to_async(
            lambda: list(
                Notification.objects.filter(recipient=author, type="post.liked").values_list(
                    "actor_id", flat=True
                )
            )
        )

        async def notified():
            return await liked() == [fans[0].pk]

        await wait_for(notified, 30, message="the like made during the outage was not notified")

    try:
        await run(scenario())
    finally:
        await proxy.cut()


async def test_worker_killed_mid_fanout_loses_and_duplicates_nothing(stack):
    author, fans = await author_with_followers(1500)
    (author_token,) = await tokens_for(author)
    _, api = await asyncio.to_thread(stack.api)
    worker = stack.worker(FANOUT_BATCH_SIZE=25)
    run = run_with_logs(stack)

    async def scenario():
        status, created = await ahttp("POST", f"{api}/api/posts/", author_token, {"text": "big"})
        assert status == 201
        count = sync_to_async(Notification.objects.filter(post_id=created["id"]).count)

        async def partly_done():
            return 0 < await count() < 1500

        await wait_for(partly_done, 30, interval=0.005, message="fan-out never started")
        await asyncio.to_thread(worker.kill)
        assert await count() < 1500
        stack.worker(FANOUT_BATCH_SIZE=25)

        async def finished():
            return await count() == 1500

        await wait_for(finished, 60, message="fan-out did not finish after the restart")
        recipients = await sync_to_async(
            lambda: list(
                Notification.objects.filter(post_id=created["id"]).values_list(
                    "recipient_id", flat=True
                )
            )
        )()
        assert sorted(recipients) == sorted(fan.pk for fan in fans)
        entries = await sync_to_async(TimelineEntry.objects.filter(post_id=created["id"]).count)()
        assert entries == 1501  # every follower and the author
        # Every stored count still equals its rows (recount --dry-run fails otherwise).
        out = io.StringIO()
        await sync_to_async(call_command)("recount", "--dry-run", stdout=out)
        assert "Nothing to fix" in out.getvalue()

    await run(scenario())


async def test_burst_every_client_receives_every_event(stack):
    """200 connected followers x 100 posts: deliveries are counted on the clients."""
    author, fans = await author_with_followers(200)
    author_token, *fan_tokens = await tokens_for(author, *fans)
    ws_base, api = await start_stack(stack)
    run = run_with_logs(stack)

    async def scenario():
        counts = collections.Counter()
        ids: dict[int, set] = collections.defaultdict(set)
        sockets = [await connect(ws_base, token) for token in fan_tokens]

        async def listen(index, socket):
            async for frame in socket:
                event = json.loads(frame)
                if event.get("type") == "post.created":
                    counts[index] += 1
                    ids[index].add(event["post"]["id"])

        listeners = [asyncio.create_task(listen(i, s)) for i, s in enumerate(sockets)]

        async def create(index):
            status, _ = await ahttp(
                "POST", f"{api}/api/posts/", author_token, {"text": f"burst {index}"}
            )
            assert status == 201

        for start in range(0, 100, 10):
            await asyncio.gather(*(create(i) for i in range(start, start + 10)))
        await wait_for(
            lambda: all(len(ids[i]) == 100 for i in range(200)),
            60,
            message=f"deliveries per client: min {min(len(ids[i]) for i in range(200))}",
        )
        for task in listeners:
            task.cancel()
        for socket in sockets:
            await socket.close()
        assert sum(counts.values()) >= 200 * 100

    await run(scenario())


async def test_embedded_mode_live_notification_in_one_process(tmp_path):
    """`manage.py serve`, no broker: a follower's websocket gets the post live."""
    stack = Stack(tmp_path, broker=None)
    author, (fan,) = await author_with_followers(1)
    author_token, fan_token = await tokens_for(author, fan)
    _, host = await asyncio.to_thread(stack.embedded)
    try:
        socket = await connect(f"ws://{host}", fan_token)
        status, created = await ahttp(
            "POST", f"http://{host}/api/posts/", author_token, {"text": "hello"}
        )
        assert status == 201
        event = await next_event(socket)
        assert event["type"] == "post.created"
        assert event["post"] == created
        await socket.close()
    except BaseException:
        print(stack.logs())
        raise
    finally:
        await asyncio.to_thread(stack.stop)


async def test_a_worker_without_its_database_hands_the_message_back(stack):
    """A worker whose database is down gives up on a message without losing it: it cannot
    mark the post for the sweeper, so the message goes back to the queue for a worker that
    can reach the database."""
    author, _ = await author_with_followers(3)
    (author_token,) = await tokens_for(author)
    _, api = await asyncio.to_thread(stack.api)
    cut_off = stack.worker(
        "cut-off",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/nowhere",
        DATABASE_POOL_TIMEOUT=1,
        FANOUT_MAX_ATTEMPTS=1,
    )
    run = run_with_logs(stack)

    async def scenario():
        status, created = await ahttp("POST", f"{api}/api/posts/", author_token, {"text": "hi"})
        assert status == 201
        published = await sync_to_async(Post.objects.filter(published_at__isnull=False).count)()
        assert published == 1  # the sweeper will not come back for it

        await wait_for(
            lambda: "giving up on message" in cut_off.output(),
            60,
            message="the cut-off worker never gave up on the message",
        )
        await asyncio.to_thread(cut_off.stop)
        stack.worker()
        count = sync_to_async(Notification.objects.filter(post_id=created["id"]).count)

        async def delivered():
            return await count() == 3

        await wait_for(delivered, 60, message="the message was lost")
        await asyncio.sleep(1)
        assert await count() == 3

    await run(scenario())


async def test_a_deleted_account_loses_its_sockets_on_other_processes(stack):
    """The account is deleted through the API process; its socket on the websocket process
    is closed (4401) through the worker and the RabbitMQ channel layer."""
    _, (fan,) = await author_with_followers(1)
    (fan_token,) = await tokens_for(fan)
    ws_base, api = await start_stack(stack)
    run = run_with_logs(stack)

    async def scenario():
        socket = await connect(ws_base, fan_token)
        status, _ = await ahttp("DELETE", f"{api}/api/users/me/", fan_token)
        assert status == 204
        await asyncio.wait_for(socket.wait_closed(), 20)
        assert socket.close_code == 4401

    await run(scenario())
