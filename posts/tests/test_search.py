import pytest
from django.db import connection

from posts.models import Post

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL full-text search"
)


@pytest.fixture
def posts(other):
    texts = [
        "The quick brown fox jumps over the lazy dog",
        "Running late for the Django meetup",
        "I love PostgreSQL full-text search",
        "foxes and dogs are friends",
        "Nothing to see here",
    ]
    for text in texts:
        Post.objects.create(author=other, text=text)
    return texts


def search(api, q, **params):
    response = api.get("/api/posts/", {"q": q, **params})
    assert response.status_code == 200, response.content
    return [p["text"] for p in response.json()["results"]]


def test_search_finds_words_case_insensitively(api, posts):
    assert search(api, "POSTGRESQL") == ["I love PostgreSQL full-text search"]
    assert search(api, "quick dog") == ["The quick brown fox jumps over the lazy dog"]
    assert search(api, "absent") == []


def test_search_combines_with_the_other_filters(api, posts, user):
    Post.objects.create(author=user, text="alice talks about search too")
    assert search(api, "search", author="alice") == ["alice talks about search too"]


@postgres_only
def test_search_stems_and_understands_web_search_syntax(api, posts):
    assert "Running late for the Django meetup" in search(api, "run")
    assert set(search(api, "fox")) == {
        "The quick brown fox jumps over the lazy dog",
        "foxes and dogs are friends",
    }
    assert search(api, "fox -quick") == ["foxes and dogs are friends"]
    assert search(api, '"lazy dog"') == ["The quick brown fox jumps over the lazy dog"]
    assert search(api, '"dog lazy"') == []
    assert set(search(api, "django or postgresql")) == {
        "Running late for the Django meetup",
        "I love PostgreSQL full-text search",
    }


@pytest.mark.parametrize(
    "query",
    [
        "'",
        '"',
        "!!!",
        "&|!():*<>",
        "the",
        "-",
        "a' OR '1'='1",
        "%_%",
        "\\",
        "é ü 中文 🦊",
        "or or or",
        '"unterminated',
        "x" * 500,
        "   ",
    ],
)
def test_any_input_is_safe(api, posts, query):
    response = api.get("/api/posts/", {"q": query})
    assert response.status_code == 200
    assert isinstance(response.json()["results"], list)


@postgres_only
def test_search_uses_the_gin_index(posts):
    from posts.selectors import post_list

    rows = post_list(q="fox")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = rows.statement(21)
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "posts_post_text_search" in plan


@postgres_only
def test_posts_are_never_scanned_in_parallel():
    # A page stops after a few matches; parallel workers each tested thousands of posts.
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'posts_post'")
        assert "parallel_workers=0" in cursor.fetchone()[0]
        cursor.execute("SET LOCAL parallel_setup_cost = 0")
        cursor.execute("SET LOCAL parallel_tuple_cost = 0")
        cursor.execute("SET LOCAL min_parallel_table_scan_size = 0")
        cursor.execute("SET LOCAL min_parallel_index_scan_size = 0")
        cursor.execute("EXPLAIN SELECT id FROM posts_post WHERE text LIKE '%%x%%' ORDER BY id DESC")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Parallel" not in plan and "Gather" not in plan, plan
