"""A notification never outlives its post or its actor, although the fan-out does not check
them row by row: a page checks the post once under the author's fan-out lock, and deleting a
post or an account takes that lock exclusively."""

import asyncio
import gc
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from django.db import OperationalError, connection, transaction

from accounts.services import user_delete
from common.locks import author_fanout_lock
from common.testing import make_user
from follows.models import Follow
from notifications import fanout, live
from notifications.fanout import _fanout_batch
from notifications.models import Notification
from posts.models import Post, TimelineEntry
from posts.services import post_delete

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def author_post_follow():
    author, follower = make_user(), make_user()
    follow = Follow.objects.create(follower=follower, followee=author)
    post = Post.objects.create(author=author, text="hello")
    return author, post, follow


def test_a_page_for_a_deleted_post_writes_nothing(author_post_follow):
    _, post, follow = author_post_follow
    post_id = post.pk
    Post.objects.filter(pk=post_id).delete()

    rows, _ = _fanout_batch(post, [(follow.pk, follow.follower_id)])

    assert rows == []
    assert not Notification.objects.filter(post_id=post_id).exists()
    assert not TimelineEntry.objects.filter(post_id=post_id).exists()


@pytest.mark.usefixtures("close_db_connections")
async def test_a_post_deleted_during_its_fanout_is_announced_to_nobody(
    author_post_follow, monkeypatch
):
    """Deleted after the worker read it, before its first page: no rows, no live batch."""
    author, post, _ = author_post_follow
    read_post = fanout._post_snapshot

    def read_then_delete(post_id):
        snapshot = read_post(post_id)
        post_delete(post=post, actor=author)
        return snapshot

    sent = []

    async def record(message):
        sent.append(message)
        return True

    monkeypatch.setattr(fanout, "_post_snapshot", read_then_delete)
    monkeypatch.setattr(live, "send", record)

    stats = await fanout.fanout_post(post.pk)

    assert stats["recipients"] == 0
    assert [m["event"] for m in sent if m["event"] != "post.deleted"] == []
    assert not await sync_to_async(Notification.objects.filter(post_id=post.pk).exists)()


class PageInFlight(threading.Thread):
    """Writes a post's notification the way a fan-out page does (under the author's shared
    lock) and holds its transaction open until `finish` is set."""

    def __init__(self, post: Post, recipient_id: int):
        super().__init__(daemon=True)
        self.post, self.recipient_id = post, recipient_id
        self.locked, self.finish = threading.Event(), threading.Event()

    def run(self):
        try:
            with transaction.atomic():
                author_fanout_lock(self.post.author_id, shared=True)
                Notification.objects.create(
                    recipient_id=self.recipient_id,
                    type=Notification.Type.POST_CREATED,
                    actor_id=self.post.author_id,
                    post_id=self.post.pk,
                )
                self.locked.set()
                self.finish.wait(10)
        finally:
            connection.close()


def in_thread(function, **kwargs) -> threading.Thread:
    def run():
        try:
            function(**kwargs)
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite runs one writing transaction at a time"
)
@pytest.mark.parametrize("deletion", ["post", "account"])
def test_deleting_waits_for_a_fanout_page_and_leaves_none_of_its_rows(author_post_follow, deletion):
    author, post, follow = author_post_follow
    page = PageInFlight(post, follow.follower_id)
    page.start()
    assert page.locked.wait(10)

    if deletion == "post":
        deleting = in_thread(post_delete, post=post, actor=author)
    else:
        deleting = in_thread(user_delete, user=author)
    deleting.join(0.5)
    assert deleting.is_alive(), "the deletion did not wait for the page being written"

    page.finish.set()
    page.join(10)
    deleting.join(10)
    assert not deleting.is_alive()
    assert not Post.objects.filter(pk=post.pk).exists()
    assert not Notification.objects.filter(post_id=post.pk).exists()
    assert not Notification.objects.filter(actor_id=author.pk).exists()


@pytest.mark.usefixtures("close_db_connections")
async def test_a_fanout_that_fails_after_starting_a_page_waits_for_it(
    author_post_follow, monkeypatch
):
    """The database fails between two pages: the job fails only once the page it had started
    has finished, so nothing of it runs on past its retry, and the page's own failure is
    retrieved, not reported by the event loop as "Task exception was never retrieved"
    (an ERROR line in a worker's log)."""
    _, post, follow = author_post_follow
    pages = iter([[(follow.pk, follow.follower_id)]])
    page_done = threading.Event()

    def follower_page(*args):
        page = next(pages, None)
        if page is None:
            raise OperationalError("the database went away")
        return page

    def fanout_batch(post, page):
        time.sleep(0.2)
        page_done.set()
        raise OperationalError("the database went away")

    monkeypatch.setattr(fanout, "_follower_page", follower_page)
    monkeypatch.setattr(fanout, "_fanout_batch", fanout_batch)
    unhandled = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda loop, context: unhandled.append(context))

    with pytest.raises(OperationalError):
        await fanout.fanout_post(post.pk)
    finished_with_the_job = page_done.is_set()
    await asyncio.sleep(0.3)  # a page left running would end now
    gc.collect()

    assert finished_with_the_job
    assert [context["message"] for context in unhandled] == []
