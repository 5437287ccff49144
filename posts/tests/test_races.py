"""Concurrent requests on PostgreSQL: toggles stay one row each and counts equal the rows."""

import threading

import pytest
from django.db import connection

from common.testing import client_for, make_user
from posts.models import Like, Post

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite runs one writing transaction at a time"
    ),
]


def at_once(calls) -> list:
    """Run each call in its own thread, released together; return their results."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(10)
            results[index] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_simultaneous_likes_make_one_row_and_count_one(alice, other):
    post = alice.post("/api/posts/", {"text": "race"}, format="json").json()
    bob = client_for(other)
    statuses = at_once([lambda: bob.post(f"/api/posts/{post['id']}/like/").status_code] * 2)
    assert sorted(statuses) == [200, 201]
    assert Like.objects.filter(post_id=post["id"]).count() == 1
    assert Post.objects.get(pk=post["id"]).like_count == 1


def test_two_simultaneous_reposts_make_one_repost(alice, other):
    post = alice.post("/api/posts/", {"text": "race"}, format="json").json()
    bob = client_for(other)
    responses = at_once([lambda: bob.post(f"/api/posts/{post['id']}/repost/")] * 2)
    assert sorted(r.status_code for r in responses) == [200, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert Post.objects.get(pk=post["id"]).repost_count == 1
    assert Post.objects.filter(repost_of_id=post["id"]).count() == 1


def test_like_and_unlike_storms_from_many_threads_keep_the_count_exact(alice):
    post = alice.post("/api/posts/", {"text": "storm"}, format="json").json()
    clients = [client_for(make_user(f"fan{index}")) for index in range(8)]
    url = f"/api/posts/{post['id']}/like/"

    def storm(client, offset):
        def run():
            for step in range(10):
                (client.post if (step + offset) % 2 else client.delete)(url)

        return run

    at_once([storm(client, index) for index, client in enumerate(clients)])
    assert (
        Post.objects.get(pk=post["id"]).like_count
        == Like.objects.filter(post_id=post["id"]).count()
    )


def test_a_reply_racing_the_deletion_of_its_parent_is_refused_or_counted(alice, other):
    parent = alice.post("/api/posts/", {"text": "parent"}, format="json").json()
    bob = client_for(other)
    results = at_once(
        [
            lambda: (
                bob.post(
                    "/api/posts/", {"text": "reply", "reply_to": parent["id"]}, format="json"
                ).status_code
            ),
            lambda: alice.delete(f"/api/posts/{parent['id']}/").status_code,
        ]
    )
    assert results[1] == 204
    assert results[0] in (201, 400)
    assert not Post.objects.filter(pk=parent["id"]).exists()


def test_a_like_commits_without_waiting_for_the_flush(alice, other):
    """So a popular post's row lock is released at commit, not after the disk's flush."""
    from django.test.utils import CaptureQueriesContext

    post = alice.post("/api/posts/", {"text": "hot"}, format="json").json()
    bob = client_for(other)
    for method in ("post", "delete"):
        with CaptureQueriesContext(connection) as queries:
            getattr(bob, method)(f"/api/posts/{post['id']}/like/")
        statements = [q["sql"] for q in queries.captured_queries]
        relaxed = statements.index("SET LOCAL synchronous_commit TO OFF")
        counter = next(
            i for i, sql in enumerate(statements) if "like_count" in sql and "UPDATE" in sql
        )
        assert relaxed < counter
