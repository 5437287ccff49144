"""seed_demo leaves what live traffic through the services would have: exact counters,
parsed mentions and tags, well-formed replies and reposts, timelines and notifications by
the fan-out's rules."""

from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F

from accounts.models import User
from follows.models import Follow
from notifications.models import Notification
from posts import text as post_text
from posts.models import Like, Post, PostHashtag, TimelineEntry

pytestmark = pytest.mark.django_db(transaction=True)

Type = Notification.Type


@pytest.fixture
def seeded(settings):
    settings.TIMELINE_CAP = 25
    call_command("seed_demo", users=60, follows=900, posts=2000, seed=5)


def follows_of() -> dict[int, set[int]]:
    following: dict[int, set[int]] = {
        user_id: set() for user_id in User.objects.values_list("id", flat=True)
    }
    for follower, followee in Follow.objects.values_list("follower_id", "followee_id"):
        following[follower].add(followee)
    return following


def reaches(post: Post, user_id: int, following: set[int]) -> bool:
    """The fan-out's rule for a followee's post: a reply to someone else only for those who
    follow that account too, or are it."""
    replied = post.reply_to_author_id
    return replied is None or replied in (post.author_id, user_id) or replied in following


def enters(post: Post, user_id: int, following: set[int], posts: dict[int, Post]) -> bool:
    """Whether live traffic (follows first, then the posts in order) puts the post in the
    user's timeline before any trimming."""
    if post.author_id != user_id and not (
        post.author_id in following and reaches(post, user_id, following)
    ):
        return False
    if post.repost_of_id is not None:  # not where the original is already
        return not enters(posts[post.repost_of_id], user_id, following, posts)
    return True


def expected_timelines(cap: int) -> dict[int, list[int]]:
    following = follows_of()
    posts = {post.pk: post for post in Post.objects.order_by("-id")}
    return {
        user_id: [
            post_id for post_id, post in posts.items() if enters(post, user_id, followees, posts)
        ][:cap]
        for user_id, followees in following.items()
    }


def test_seed_demo_makes_what_it_is_asked_for(settings, capsys):
    settings.TIMELINE_CAP = 40
    call_command(
        "seed_demo",
        users=120,
        follows=2400,
        posts=3000,
        replies=500,
        reposts=200,
        likes=5000,
        celebrity=100,
        seed=3,
    )
    assert User.objects.count() == 121
    assert Follow.objects.count() == 2500
    assert Post.objects.count() == 3000
    assert Post.objects.filter(reply_to__isnull=False).count() == 500
    assert Post.objects.filter(repost_of__isnull=False).count() == 200
    assert Like.objects.count() == 5000
    celebrity = User.objects.get(username="usercelebrity")
    assert Follow.objects.filter(followee=celebrity).count() == 100
    assert not Follow.objects.filter(follower_id=F("followee_id")).exists()
    # Following counts are spread out, not uniform.
    counts = sorted(
        Follow.objects.filter(follower__username__regex=r"^user[0-9]+$")
        .values("follower_id")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    assert counts[-1] > 3 * counts[len(counts) // 2]
    # Likes go to some posts far more than to others.
    likes = sorted(Post.objects.values_list("like_count", flat=True))
    assert likes[-1] > 5 * likes[len(likes) // 2]
    output = capsys.readouterr().out
    assert "posts: 3,000/3,000 (100%)" in output
    assert "Done in" in output


def test_seed_demo_defaults_are_proportional_to_posts():
    call_command("seed_demo", users=30, follows=200, posts=500)
    assert Post.objects.filter(reply_to__isnull=False).count() == 100
    assert Post.objects.filter(repost_of__isnull=False).count() == 50
    assert Like.objects.count() == 1000


def test_seed_demo_counters_equal_the_rows(seeded, capsys):
    for user in User.objects.annotate(
        followers=Count("follower_relations", distinct=True),
        following=Count("following_relations", distinct=True),
        posted=Count("posts", distinct=True),
    ):
        assert (user.followers_count, user.following_count, user.posts_count) == (
            user.followers,
            user.following,
            user.posted,
        ), user.username
    replies = Counter(Post.objects.exclude(reply_to=None).values_list("reply_to_id", flat=True))
    reposts = Counter(Post.objects.exclude(repost_of=None).values_list("repost_of_id", flat=True))
    likes = Counter(Like.objects.values_list("post_id", flat=True))
    for post_id, reply_count, like_count, repost_count in Post.objects.values_list(
        "id", "reply_count", "like_count", "repost_count"
    ):
        assert (reply_count, like_count, repost_count) == (
            replies[post_id],
            likes[post_id],
            reposts[post_id],
        ), post_id
    assert max(replies.values()) > 1 and max(reposts.values()) > 1
    capsys.readouterr()
    call_command("recount", dry_run=True)
    assert "Nothing to fix" in capsys.readouterr().out


def test_seed_demo_texts_parse_to_their_mentions_and_tags(seeded):
    accounts = {user.username.lower(): user for user in User.objects.all()}
    links: dict[int, set[str]] = {}
    for post_id, name in PostHashtag.objects.values_list("post_id", "hashtag__name"):
        links.setdefault(post_id, set()).add(name)
    tag_uses = Counter()
    for post in Post.objects.all():
        names = post_text.mentioned_usernames(post.text)
        expected = [
            {"id": accounts[name].pk, "username": accounts[name].username}
            for name in names
            if name in accounts
        ]
        assert post.mentions == expected, post.text
        assert post.hashtags == post_text.hashtags(post.text), post.text
        assert links.get(post.pk, set()) == set(post.hashtags), post.text
        tag_uses.update(post.hashtags)
    assert Post.objects.exclude(mentions=[]).count() > 100
    assert Post.objects.exclude(hashtags=[]).count() > 200
    # A few tags are used far more than the rest; each is stored case-folded.
    uses = sorted(tag_uses.values())
    assert uses[-1] > 4 * uses[len(uses) // 2]
    assert all(tag == tag.casefold() for tag in tag_uses)
    assert PostHashtag.objects.filter(created_at=F("post__created_at")).count() == sum(uses)
    assert not PostHashtag.objects.exclude(author_id=F("post__author_id")).exists()


def test_seed_demo_replies_and_reposts_are_well_formed(seeded):
    posts = {post.pk: post for post in Post.objects.all()}
    seen_reposts = set()
    for post in posts.values():
        if post.repost_of_id is not None:
            original = posts[post.repost_of_id]
            assert post.text == "" and post.mentions == [] and post.hashtags == []
            assert original.repost_of_id is None and original.pk < post.pk
            assert post.reply_to_id is None and post.conversation is None
            assert (post.author_id, original.pk) not in seen_reposts
            seen_reposts.add((post.author_id, original.pk))
        elif post.reply_to_id is not None:
            parent = posts[post.reply_to_id]
            assert parent.repost_of_id is None and parent.pk < post.pk
            assert post.reply_to_author_id == parent.author_id
            assert post.conversation == (parent.conversation or parent.pk)
            assert post.text
        else:
            assert post.reply_to_author_id is None and post.conversation is None
            assert post.text
    # Threads go deeper than one reply.
    assert Post.objects.exclude(conversation=None).exclude(conversation=F("reply_to_id")).exists()


def test_seed_demo_timelines_follow_the_product_rules(seeded):
    expected = expected_timelines(25)
    for user in User.objects.all():
        stored = list(
            TimelineEntry.objects.filter(user=user)
            .order_by("-post_id")
            .values_list("post_id", flat=True)
        )
        assert stored == expected[user.pk], user.username
    # The rules do keep replies and reposts out of some timelines.
    following = follows_of()
    posts = {post.pk: post for post in Post.objects.all()}
    kept_out = [
        post
        for post in posts.values()
        for follower in Follow.objects.filter(followee_id=post.author_id).values_list(
            "follower_id", flat=True
        )
        if not enters(post, follower, following[follower], posts)
    ]
    assert any(post.reply_to_id for post in kept_out)
    assert any(post.repost_of_id for post in kept_out)


def expected_notifications() -> Counter:
    posts = {post.pk: post for post in Post.objects.all()}
    wanted = Counter()
    for follower, followee in Follow.objects.values_list("follower_id", "followee_id"):
        wanted[(followee, Type.FOLLOW_CREATED, follower, None)] += 1
    for user_id, post_id in TimelineEntry.objects.values_list("user_id", "post_id"):
        if posts[post_id].author_id != user_id:
            wanted[(user_id, Type.POST_CREATED, posts[post_id].author_id, post_id)] += 1
    for post in posts.values():
        if post.reply_to_author_id not in (None, post.author_id):
            wanted[(post.reply_to_author_id, Type.POST_REPLIED, post.author_id, post.pk)] += 1
        original = posts.get(post.repost_of_id)
        if original is not None and original.author_id != post.author_id:
            wanted[(original.author_id, Type.POST_REPOSTED, post.author_id, original.pk)] += 1
        for mention in post.mentions:
            if mention["id"] != post.author_id:
                wanted[(mention["id"], Type.POST_MENTIONED, post.author_id, post.pk)] += 1
    for user_id, post_id in Like.objects.values_list("user_id", "post_id"):
        if posts[post_id].author_id != user_id:
            wanted[(posts[post_id].author_id, Type.POST_LIKED, user_id, post_id)] += 1
    return wanted


def test_seed_demo_notifies_as_the_live_path_does(seeded):
    stored = Counter(
        Notification.objects.values_list("recipient_id", "type", "actor_id", "post_id")
    )
    assert stored == expected_notifications()
    assert max(stored.values()) == 1  # at most one per (type, actor, post) and recipient
    assert not Notification.objects.filter(recipient_id=F("actor_id")).exists()
    assert {kind for _, kind, _, _ in stored} == set(Type.values)
    # Ids grow with time, as the inbox and `?since=` expect; older ones are read.
    times = list(Notification.objects.order_by("id").values_list("created_at", flat=True))
    assert times == sorted(times)
    assert Notification.objects.filter(read=False).exists()
    assert Notification.objects.filter(read=True).exists()


def test_seed_demo_users_can_sign_in(anon):
    call_command("seed_demo", users=5, follows=10, posts=10, password="pass-for-demo")
    response = anon.post(
        "/api/auth/login/", {"username": "user3", "password": "pass-for-demo"}, format="json"
    )
    assert response.status_code == 200


def test_seed_demo_saturated_small_sizes_still_add_up():
    # Every user likes every post that can be liked: the slow path fills what picks miss.
    call_command("seed_demo", users=4, follows=6, posts=12, replies=3, reposts=2, likes=40)
    assert Like.objects.count() == 40
    assert Post.objects.count() == 12
    call_command("recount", dry_run=True)


def test_seed_demo_refuses_to_clash_and_bad_sizes():
    call_command("seed_demo", users=3, follows=2, posts=1)
    with pytest.raises(CommandError, match="--prefix"):
        call_command("seed_demo", users=3, follows=2, posts=1)
    call_command("seed_demo", users=3, follows=2, posts=1, prefix="more")
    assert User.objects.filter(username__startswith="more").count() == 3
    with pytest.raises(CommandError):
        call_command("seed_demo", users=3, follows=7, posts=1, prefix="x")
    with pytest.raises(CommandError):
        call_command("seed_demo", users=1, prefix="y")
    with pytest.raises(CommandError, match="--replies"):
        call_command("seed_demo", users=3, follows=2, posts=10, replies=6, reposts=4, prefix="z")
    with pytest.raises(CommandError, match="like"):
        call_command("seed_demo", users=3, follows=2, posts=10, reposts=2, likes=25, prefix="w")
