"""`manage.py recount` puts every stored counter back to the count of its rows."""

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from common.testing import make_user
from follows.services import follow_create
from posts.models import Post
from posts.services import like_create, post_create, repost_create

pytestmark = pytest.mark.django_db(transaction=True)

USER_COUNTERS = ("followers_count", "following_count", "posts_count")
POST_COUNTERS = ("reply_count", "like_count", "repost_count")


@pytest.fixture
def world():
    """Accounts, follows, posts, replies, likes and reposts made through the services."""
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    follow_create(follower=bob, followee=alice)
    follow_create(follower=carol, followee=alice)
    follow_create(follower=alice, followee=carol)
    posts = [post_create(author=alice, text=f"post {index}")[0] for index in range(4)]
    post_create(author=bob, text="a reply", reply_to_id=posts[0].pk)
    post_create(author=carol, text="another", reply_to_id=posts[0].pk)
    for user in (bob, carol):
        like_create(user=user, post=posts[1])
    like_create(user=bob, post=posts[2])
    repost_create(user=carol, post=posts[1])
    return {"alice": alice, "bob": bob, "carol": carol, "posts": posts}


def counters() -> dict:
    return {
        "users": dict((row[0], row[1:]) for row in User.objects.values_list("id", *USER_COUNTERS)),
        "posts": dict((row[0], row[1:]) for row in Post.objects.values_list("id", *POST_COUNTERS)),
    }


def recount(capsys, **options) -> str:
    capsys.readouterr()
    call_command("recount", **options)
    return capsys.readouterr().out


def test_a_clean_database_has_nothing_to_fix(world, capsys):
    before = counters()
    assert before["posts"][world["posts"][1].pk] == (0, 2, 1)
    assert before["users"][world["alice"].pk] == (2, 1, 4)
    assert "Nothing to fix." in recount(capsys)
    assert "Nothing to fix." in recount(capsys, dry_run=True)
    assert counters() == before


def test_an_empty_database_has_nothing_to_fix(capsys):
    assert "Nothing to fix." in recount(capsys)


def test_corrupted_counters_are_fixed_and_reported(world, capsys):
    right = counters()
    posts = world["posts"]
    # Too high, too low, and stored where no row is left (the count is zero).
    Post.objects.filter(pk__in=[posts[1].pk, posts[2].pk]).update(like_count=7)
    Post.objects.filter(pk=posts[3].pk).update(like_count=-1)
    Post.objects.filter(pk=posts[0].pk).update(reply_count=0, repost_count=3)
    User.objects.filter(pk=world["alice"].pk).update(followers_count=0, posts_count=99)
    User.objects.filter(pk=world["bob"].pk).update(following_count=5)
    User.objects.filter(pk=world["carol"].pk).update(followers_count=2)

    output = recount(capsys)

    assert (
        "Fixed 2 users' followers_count, 1 user's following_count, 1 user's posts_count, "
        "1 post's reply_count, 3 posts' like_count, 1 post's repost_count." in output
    )
    assert counters() == right
    assert "Nothing to fix." in recount(capsys)


def test_dry_run_reports_writes_nothing_and_fails(world, capsys):
    posts = world["posts"]
    Post.objects.filter(pk=posts[1].pk).update(like_count=0)
    User.objects.filter(pk=world["bob"].pk).update(posts_count=0)
    corrupted = counters()
    capsys.readouterr()

    with pytest.raises(CommandError) as failure:
        call_command("recount", dry_run=True)

    assert failure.value.returncode == 1
    output = capsys.readouterr().out
    assert "Would fix 1 user's posts_count, 1 post's like_count." in output
    assert "posts_post.like_count: 1 differ" in output  # progress, counter by counter
    assert counters() == corrupted
    assert "Fixed" in recount(capsys)
    assert "Nothing to fix." in recount(capsys, dry_run=True)


def test_recount_after_a_seed_has_nothing_to_fix(capsys):
    call_command("seed_demo", users=30, follows=300, posts=600, seed=2)
    assert "Nothing to fix." in recount(capsys, dry_run=True)
    Post.objects.filter(like_count__gt=0).update(like_count=0)
    assert "posts' like_count" in recount(capsys)
    assert "Nothing to fix." in recount(capsys, dry_run=True)
