"""Mentions and hashtags: parsed once, shown on the post, found by tag and by search."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from common.testing import client_for, make_user
from posts.models import Hashtag, Post, PostHashtag
from posts.text import hashtags, mentioned_usernames

pytestmark = pytest.mark.django_db(transaction=True)


def create(client, text, **fields) -> dict:
    response = client.post("/api/posts/", {"text": text, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hi @bob and @Alice_1!", ["bob", "alice_1"]),
        ("thanks @bob.", ["bob"]),
        ("mail me at me@example.com", []),
        ("@bob @BOB @bob", ["bob"]),
        ("@ alone", []),
    ],
)
def test_mentions_are_parsed(text, expected):
    assert mentioned_usernames(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#Django and #django", ["django"]),
        ("#Ünïcode #日本語 #Straße", ["ünïcode", "日本語", "strasse"]),
        ("#2026 is no tag, #year2026 is", ["year2026"]),
        ("C# and &#39; are no tags", []),
        ("#first, #second.", ["first", "second"]),
    ],
)
def test_hashtags_are_parsed_unicode_aware_and_case_folded(text, expected):
    assert hashtags(text) == expected


def test_a_post_shows_the_accounts_it_mentions_and_its_tags(alice, other):
    make_user("Carol")
    post = create(alice, "Hello @bob and @carol and @unknown #Fun #fun #News")
    assert post["mentions"] == [
        {"id": other.pk, "username": "bob"},
        {"id": post["mentions"][1]["id"], "username": "Carol"},
    ]
    assert post["hashtags"] == ["fun", "news"]
    assert post["text"] == "Hello @bob and @carol and @unknown #Fun #fun #News"


def test_fifty_mentions_and_fifty_tags_parse_in_bounded_time(alice):
    names = [f"u{index}" for index in range(50)]
    for name in names:
        make_user(name)
    text = " ".join(f"@{name}" for name in names)
    started = time.perf_counter()
    post = create(alice, text)
    assert len(post["mentions"]) == 50
    tags = " ".join(f"#t{index}" for index in range(50))
    assert len(create(alice, tags)["hashtags"]) == 50
    # A generous bound: this is about not being quadratic, not about speed.
    assert time.perf_counter() - started < 10
    assert PostHashtag.objects.count() == 50


def test_tag_pages_match_any_case_newest_first(alice, bob):
    first = create(alice, "learning #Python")
    create(bob, "nothing here")
    second = create(bob, "more #python and #django")
    for tag in ("python", "PYTHON", "%23Python"):
        results = alice.get(f"/api/tags/{tag}/posts/").json()["results"]
        assert [p["id"] for p in results] == [second["id"], first["id"]], tag
    assert alice.get("/api/tags/nothing/posts/").json()["results"] == []


def test_tag_pages_are_cursor_pages(alice):
    ids = [create(alice, f"#paged {index}")["id"] for index in range(5)]
    seen, url = [], "/api/tags/paged/posts/?page_size=2"
    while url:
        body = alice.get(url).json()
        seen += [p["id"] for p in body["results"]]
        url = body["next"]
    assert seen == ids[::-1]


def test_searching_for_a_tag_finds_tagged_posts(alice, bob):
    tagged = create(alice, "I love #coffee")
    create(bob, "coffee without a tag")
    create(bob, "#coffee and tea")
    results = alice.get("/api/posts/", {"q": "#coffee"}).json()["results"]
    assert tagged["id"] in [p["id"] for p in results]
    assert all("coffee" in p["hashtags"] for p in results)
    assert len(results) == 2
    both = alice.get("/api/posts/", {"q": "#coffee tea"}).json()["results"]
    assert [p["text"] for p in both] == ["#coffee and tea"]
    assert alice.get("/api/posts/", {"q": "#"}).status_code == 200


def test_trending_ranks_tags_by_distinct_authors_over_a_day(alice, bob, user):
    carol = client_for(make_user("carol"))
    for _ in range(5):
        create(alice, "#solo again")
    create(alice, "#shared by alice")
    create(bob, "#shared by bob")
    create(carol, "#shared by carol #other")
    create(bob, "#other too")
    old = create(bob, "#stale news")
    PostHashtag.objects.filter(post_id=old["id"]).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    trending = alice.get("/api/tags/trending/").json()
    assert trending[:3] == [
        {"name": "shared", "posts": 3, "authors": 3},
        {"name": "other", "posts": 2, "authors": 2},
        {"name": "solo", "posts": 5, "authors": 1},
    ]
    assert "stale" not in [tag["name"] for tag in trending]
    assert len(trending) <= 10


def test_deleting_a_post_takes_its_tags_off_the_tag_page(alice):
    post = create(alice, "#fleeting")
    alice.delete(f"/api/posts/{post['id']}/")
    assert alice.get("/api/tags/fleeting/posts/").json()["results"] == []
    assert Hashtag.objects.filter(name="fleeting").exists()
    assert not Post.objects.exists()
