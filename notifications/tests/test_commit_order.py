"""A notification that commits after one with a higher id still reaches a client that has
seen the higher one: `?since=` on the websocket and on the REST inbox."""

import json
import threading

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from common.events import handle
from common.testing import access_token, client_for, make_user
from config.asgi import application
from follows.models import Follow
from notifications import live, selectors
from notifications.models import Notification
from posts.models import Like, Post

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_db_connections"),
]

Type = Notification.Type


def notify(recipient, actor) -> Notification:
    return Notification.objects.create(recipient=recipient, type=Type.FOLLOW_CREATED, actor=actor)


def out_of_order(recipient) -> tuple[Notification, Notification]:
    """Two notifications for `recipient` that commit out of id order: the first is inserted
    by a transaction that stays open until the second has committed. Returns (late, seen)."""
    slow_actor, quick_actor = make_user("slow"), make_user("quick")
    inserted, release = threading.Event(), threading.Event()
    failure = []

    def slow_writer():
        try:
            with transaction.atomic():
                notify(recipient, slow_actor)
                inserted.set()
                assert release.wait(10)
        except Exception as exc:  # pragma: no cover - reported below
            failure.append(exc)
            inserted.set()
        finally:
            connections.close_all()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert inserted.wait(10)
    seen = notify(recipient, quick_actor)  # committed while the first is still open
    release.set()
    writer.join(10)
    assert not failure, failure
    late = Notification.objects.get(recipient=recipient, actor=slow_actor)
    assert late.pk < seen.pk
    return late, seen


@pytest.fixture
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite commits its writers one at a time, in id order")


async def replay(user, since: int) -> list[int]:
    token = await sync_to_async(access_token)(user)
    comm = WebsocketCommunicator(application, f"/ws/notifications/?token={token}&since={since}")
    assert (await comm.connect())[0]
    ids = []
    while not await comm.receive_nothing(timeout=0.3):
        ids.append(json.loads(await comm.receive_from())["id"])
    await comm.disconnect()
    return ids


@pytest.mark.usefixtures("postgresql_only")
async def test_websocket_replay_sends_what_committed_after_since_with_a_smaller_id():
    alice = await sync_to_async(make_user)("alice")
    late, seen = await sync_to_async(out_of_order)(alice)
    assert await replay(alice, seen.pk) == [late.pk]
    # A client that had both sees nothing again from a later point.
    after = await sync_to_async(notify)(alice, await sync_to_async(make_user)("carol"))
    assert await replay(alice, after.pk) == []


@pytest.mark.usefixtures("postgresql_only")
def test_rest_since_includes_what_committed_after_it_with_a_smaller_id():
    alice = make_user("alice")
    late, seen = out_of_order(alice)
    newer = notify(alice, make_user("carol"))
    response = client_for(alice).get("/api/notifications/", {"since": seen.pk})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [newer.pk, late.pk]
    response = client_for(alice).get("/api/notifications/", {"since": newer.pk})
    assert response.json()["results"] == []


async def test_notifications_committed_in_order_are_not_sent_again():
    alice = await sync_to_async(make_user)("alice")
    actors = [await sync_to_async(make_user)(f"fan{index}") for index in range(3)]
    ids = [(await sync_to_async(notify)(alice, actor)).pk for actor in actors]
    assert await replay(alice, ids[0]) == ids[1:]
    assert await replay(alice, ids[-1]) == []
    response = await sync_to_async(
        lambda: client_for(alice).get("/api/notifications/", {"since": ids[1]})
    )()
    assert [row["id"] for row in response.json()["results"]] == [ids[2]]


@pytest.mark.usefixtures("postgresql_only")
def test_the_late_check_reads_the_inbox_index_alone():
    """A reconnect's late check looks at up to 1,000 of the reader's notifications: their
    commit-order columns come from the index, not from a table row each."""
    alice = make_user("alice")
    ids = [notify(alice, make_user(f"fan{index}")).pk for index in range(3)]
    with CaptureQueriesContext(connection) as queries:
        selectors.late_ids(user=alice, since=ids[-1])
    [query] = queries.captured_queries
    with transaction.atomic(), connection.cursor() as cursor:
        # A table of a few rows is cheaper to read whole: plan as for a large one.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {query['sql']}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert plan.count("Index Only Scan using notifications_inbox_idx") == 2, plan


def committed_txids(notification_ids: list[int]) -> dict[int, int]:
    """The rows' `txid` as another connection sees it: what has committed."""

    def read():
        try:
            rows = Notification.objects.filter(pk__in=notification_ids).values_list("id", "txid")
            return dict(rows)
        finally:
            connections.close_all()

    return sync_to_async(read, thread_sensitive=False)()


def recording_send(monkeypatch, *, failing) -> dict[int, int]:
    """Make `live.send` fail while `failing()` is true; otherwise record, for each
    notification a message carries, its committed `txid` at the moment it is sent."""
    send, stamped = live.send, {}

    async def switched_send(message):
        if failing(message):
            return False
        ids = [pk for _, pk in message.get("recipients", []) if isinstance(pk, int)]
        stamped.update(await committed_txids(ids))
        return await send(message)

    monkeypatch.setattr(live, "send", switched_send)
    return stamped


@pytest.mark.usefixtures("postgresql_only")
async def test_a_follow_sent_live_after_a_newer_notification_reaches_a_client_that_saw_it(
    monkeypatch,
):
    """A follow's row is written by its request and sent live by a worker later (behind the
    queue's other jobs, or on a retry): a client sent a newer id meanwhile, which reconnects
    with that `since` once the follow went out, gets the follow."""
    stamped = recording_send(monkeypatch, failing=lambda message: False)
    alice = await sync_to_async(make_user)("alice")
    follow = await sync_to_async(notify)(alice, await sync_to_async(make_user)("follower"))
    newer = await sync_to_async(notify)(alice, await sync_to_async(make_user)("fan"))
    written = (await committed_txids([follow.pk]))[follow.pk]

    await handle({"type": "follow.created", "notification_id": follow.pk})

    # When it went out, the row had committed with a newer transaction's id than `newer`'s
    # horizon: it counts as committed after `newer`.
    assert stamped[follow.pk] > written
    await sync_to_async(newer.refresh_from_db)()
    assert stamped[follow.pk] >= newer.horizon
    assert await replay(alice, newer.pk) == [follow.pk]
    response = await sync_to_async(
        lambda: client_for(alice).get("/api/notifications/", {"since": newer.pk})
    )()
    assert [row["id"] for row in response.json()["results"]] == [follow.pk]


@pytest.mark.usefixtures("postgresql_only")
async def test_notifications_sent_again_by_a_retry_reach_a_client_that_saw_a_newer_id(
    monkeypatch,
):
    """A post's fan-out, or a like, whose live messages failed goes back to the queue, and
    newer ids go out live during its pause. A client that saw one of those, and reconnects
    with it after the retry sent the job's notifications, gets them: the follower's, the
    mention's and the like's."""
    failing = True
    stamped = recording_send(monkeypatch, failing=lambda message: failing)

    def setup():
        author, follower, mentioned = make_user("author"), make_user("reader"), make_user("ann")
        Follow.objects.create(follower=follower, followee=author)
        post = Post.objects.create(
            author=author,
            text="hello @ann",
            mentions=[{"id": mentioned.pk, "username": mentioned.username}],
        )
        return post, follower, mentioned

    post, follower, mentioned = await sync_to_async(setup)()
    like = await Like.objects.acreate(user=follower, post=post)
    events = [
        {"type": "post.created", "post_id": post.pk},
        {"type": "post.liked", "like_id": like.pk},
    ]
    for event in events:
        with pytest.raises(live.Unsent):
            await handle(event)
    written = {
        (n.recipient_id, n.type): n.pk async for n in Notification.objects.filter(post_id=post.pk)
    }
    assert set(written) == {
        (post.author_id, Notification.Type.POST_LIKED),
        (follower.pk, Notification.Type.POST_CREATED),
        (mentioned.pk, Notification.Type.POST_MENTIONED),
    }, "the rows are written all the same"
    first_txids = await committed_txids(list(written.values()))
    other = await sync_to_async(make_user)("other")
    readers = (post.author, follower, mentioned)
    newer = {user.pk: await sync_to_async(notify)(user, other) for user in readers}

    failing = False
    for event in events:
        await handle(event)

    for user in readers:
        [mine] = [pk for (recipient, _), pk in written.items() if recipient == user.pk]
        # Sent again with a newer transaction's id, committed before it went out.
        assert stamped[mine] > first_txids[mine]
        assert stamped[mine] >= newer[user.pk].horizon
        assert await replay(user, newer[user.pk].pk) == [mine]


@pytest.mark.usefixtures("postgresql_only")
async def test_a_recipient_is_sent_nothing_after_a_notification_that_failed(monkeypatch):
    """A reply that mentions its parent's author tells them twice, in one transaction. If
    the first message fails, the second is not sent: the retry sends both, in order, and
    their rows share the retry's transaction, which a replay after the second would take as
    committed with it and leave the first out."""
    sent = []
    first_failed = []

    def failing(message):
        if message["event"] == Notification.Type.POST_REPLIED and not first_failed:
            first_failed.append(message)
            return True
        sent.append(message["event"])
        return False

    recording_send(monkeypatch, failing=failing)

    def setup():
        author, replier = make_user("author"), make_user("replier")
        parent = Post.objects.create(author=author, text="first")
        reply = Post.objects.create(
            author=replier,
            text="@author indeed",
            reply_to=parent,
            reply_to_author=author,
            mentions=[{"id": author.pk, "username": author.username}],
        )
        return reply

    reply = await sync_to_async(setup)()
    event = {"type": "post.created", "post_id": reply.pk}
    with pytest.raises(live.Unsent):
        await handle(event)
    assert sent == [], "nothing after the failed message"

    await handle(event)
    assert sent == [Notification.Type.POST_REPLIED, Notification.Type.POST_MENTIONED]
