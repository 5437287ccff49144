"""Reads of posts, threads, interactions, tags and timelines. Every page is one indexed query
for the posts and what the viewer did to them (the lists in fixed SQL, `PostRows`), or one
for the posts plus one for what the viewer did (the ORM's)."""

import functools
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts import authentication
from accounts.models import User
from follows.models import Block
from follows.selectors import hide_blocked
from posts.models import Bookmark, Hashtag, Like, Post, PostHashtag, TimelineEntry
from posts.search import filter_by_search, search_condition
from posts.text import hashtags as parse_hashtags
from posts.text import normalise_tag

MAX_ANCESTORS = 100
TRENDING_WINDOW = timedelta(hours=24)
TRENDING_SIZE = 10


class PostRow(NamedTuple):
    """A post with what its rendering needs, whether it came from the ORM or from the feed's
    own SQL (posts.serializers renders both alike)."""

    id: int
    text: str
    created_at: datetime
    author_id: int
    username: str
    display_name: str
    avatar: str
    reply_to_id: int | None
    reply_to_username: str | None
    conversation: int | None
    reply_count: int
    like_count: int
    repost_count: int
    mentions: list
    hashtags: list
    repost_of: "PostRow | None" = None
    # What the viewer did to the post (its original), when the list read it with the posts.
    liked: bool | None = None
    reposted: bool | None = None
    bookmarked: bool | None = None

    @property
    def post_id(self) -> int:
        # The feed's cursor key.
        return self.id

    @property
    def original_id(self) -> int:
        return self.repost_of.id if self.repost_of is not None else self.id

    @classmethod
    def of(cls, post: Post) -> "PostRow":
        """From a Post fetched with `with_related` (no further queries)."""
        author = post.author
        original = post.repost_of if post.repost_of_id else None
        return cls(
            post.id,
            post.text,
            post.created_at,
            author.id,
            author.username,
            author.display_name,
            author.avatar.name,
            post.reply_to_id,
            post.reply_to_author.username if post.reply_to_author_id else None,
            post.conversation,
            post.reply_count,
            post.like_count,
            post.repost_count,
            post.mentions,
            post.hashtags,
            cls.of(original) if original is not None else None,
        )


def with_related(queryset: QuerySet[Post]) -> QuerySet[Post]:
    """Everything a post's rendering reads, joined in the same query."""
    return queryset.select_related(
        "author", "reply_to_author", "repost_of__author", "repost_of__reply_to_author"
    )


def visible(queryset: QuerySet[Post], viewer: User | None = None) -> QuerySet[Post]:
    """The posts anyone may see: by active authors (a suspended account's posts, and reposts
    of them, are hidden until it is reinstated); for `viewer`, also none by or of an account
    that blocks them or that they block. Every list of posts goes through here."""
    queryset = queryset.filter(author__is_active=True).exclude(repost_of__author__is_active=False)
    if viewer is not None and viewer.is_authenticated:
        queryset = hide_blocked(queryset, viewer=viewer, field="author")
        queryset = hide_blocked(queryset, viewer=viewer, field="repost_of__author")
    return queryset


def post_list(
    *,
    viewer: User | None = None,
    q: str = "",
    author: str = "",
    date_from: datetime | None = None,
    date_to: datetime | None = None,
) -> "QuerySet[Post] | PostRows":
    """Posts newest first, filtered by search (words, and `#tags` matched as tags), author
    username and creation time."""
    words = [word for word in q.split() if not word.startswith("#")]
    tags = parse_hashtags(" ".join(word for word in q.split() if word.startswith("#")))
    if connection.vendor == "postgresql":
        return _post_list_rows(viewer, " ".join(words), tags, author, date_from, date_to)
    queryset = Post.objects.all()
    if author:
        queryset = queryset.filter(author__in=User.objects.by_username(author).values("pk"))
    if date_from is not None:
        queryset = queryset.filter(created_at__gte=date_from)
    if date_to is not None:
        queryset = queryset.filter(created_at__lte=date_to)
    if q:
        for tag in tags:
            queryset = queryset.filter(
                tag_links__hashtag=Subquery(Hashtag.objects.filter(name=tag).values("pk")[:1])
            )
        queryset = filter_by_search(queryset, " ".join(words))
    return with_related(visible(queryset, viewer)).order_by("-id")


def _post_list_rows(viewer, words: str, tags: list[str], author, date_from, date_to) -> "PostRows":
    """`post_list` on PostgreSQL, in fixed SQL: the same filters as the ORM's, one
    statement per combination of them."""
    qn = connection.ops.quote_name
    where, params, tables = [], [], ""
    if author:
        where.append(
            f"p.author_id IN (SELECT a.id FROM {qn(User._meta.db_table)} a "  # noqa: S608
            "WHERE LOWER(a.username) = %s)"
        )
        params.append(author.lower())
    if date_from is not None:
        where.append("p.created_at >= %s")
        params.append(date_from)
    if date_to is not None:
        where.append("p.created_at <= %s")
        params.append(date_to)
    for index, tag in enumerate(tags):
        tables += f" JOIN {qn(PostHashtag._meta.db_table)} ph{index} ON ph{index}.post_id = p.id"
        where.append(
            f"ph{index}.hashtag_id = (SELECT h.id FROM {qn(Hashtag._meta.db_table)} h "  # noqa: S608
            "WHERE h.name = %s LIMIT 1)"
        )
        params.append(tag)
    words = words.strip()
    if words:
        condition, condition_params = search_condition("p.text")
        where.append(condition)
        params.extend([*condition_params, words])
    return _visible_posts(where, params, viewer, tables)


def posts_by_username(*, username: str, viewer: User | None = None) -> "QuerySet[Post] | PostRows":
    """One user's posts, replies and reposts, newest first (the user is matched in the same
    query)."""
    if connection.vendor == "postgresql":
        return _visible_posts(["LOWER(u.username) = %s"], [username.lower()], viewer)
    return with_related(
        visible(
            Post.objects.filter(author__in=User.objects.active_by_username(username).values("pk")),
            viewer,
        )
    ).order_by("-id")


def post_get(*, post_id: int, viewer: User | None = None) -> Post | None:
    """The post, if `viewer` may see it (any active author's when no viewer is given)."""
    return with_related(visible(Post.objects.filter(pk=post_id), viewer)).first()


def post_to_read(*, post_id: int, viewer: User | None = None) -> "Post | PostRow | None":
    """The post `post_get` finds, to be shown. On PostgreSQL a `PostRow` read by one fixed
    statement with the viewer's flags (and, where the view allows it, the account's state:
    `CheckAhead`), instead of the ORM's query and `viewer_flags`' second one; elsewhere the
    model instance. Either renders the same (`PostSerializer`)."""
    if connection.vendor != "postgresql":
        return post_get(post_id=post_id, viewer=viewer)
    _, largest = connection.ops.integer_field_range(Post._meta.pk.get_internal_type())
    if not 0 < post_id <= largest:  # a larger id names no post (Django's lookups agree)
        return None
    rows = _visible_posts(["p.id = %s"], [post_id], viewer)[:1]
    return rows[0] if rows else None


def post_ancestors(*, post: Post, viewer: User | None = None) -> list[Post]:
    """The chain of posts `post` replies to, root first, at most MAX_ANCESTORS. One
    recursive query walks the chain; it stops at a deleted parent."""
    if post.reply_to_id is None:
        return []
    table = connection.ops.quote_name(Post._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE chain(id, reply_to_id, depth) AS ("  # noqa: S608
            f" SELECT id, reply_to_id, 1 FROM {table} WHERE id = %s"
            f" UNION ALL SELECT p.id, p.reply_to_id, c.depth + 1 FROM {table} p"
            f" JOIN chain c ON p.id = c.reply_to_id WHERE c.depth < %s"
            f") SELECT id FROM chain",
            [post.reply_to_id, MAX_ANCESTORS],
        )
        ids = [row[0] for row in cursor.fetchall()]
    return list(with_related(visible(Post.objects.filter(pk__in=ids), viewer)).order_by("id"))


def post_replies(*, post: Post, viewer: User | None = None) -> QuerySet[Post]:
    """Direct replies to the post (to its original, for a repost), oldest first."""
    replies = Post.objects.filter(reply_to=post.repost_of_id or post.pk)
    return with_related(visible(replies, viewer)).order_by("id")


def _visible_users(users: QuerySet[User], viewer: User | None) -> QuerySet[User]:
    if viewer is not None and viewer.is_authenticated:
        users = hide_blocked(users, viewer=viewer, field="pk")
    return users


def likers_of(*, post: Post, viewer: User | None = None) -> QuerySet[User]:
    """Users who liked the post (its original), newest like first, annotated `like_id`."""
    users = User.objects.filter(is_active=True, likes__post=post.repost_of_id or post.pk)
    return _visible_users(users, viewer).annotate(like_id=F("likes__id"))


def reposters_of(*, post: Post, viewer: User | None = None) -> QuerySet[User]:
    """Users who reposted the post (its original), newest first, annotated `repost_id`."""
    users = User.objects.filter(is_active=True, posts__repost_of=post.repost_of_id or post.pk)
    return _visible_users(users, viewer).annotate(repost_id=F("posts__id"))


def bookmarks_of(*, user: User) -> QuerySet[Post]:
    """The user's bookmarked posts, newest bookmark first, annotated `bookmark_id`."""
    bookmarked = Post.objects.filter(bookmarks__user=user)
    return with_related(visible(bookmarked, user)).annotate(bookmark_id=F("bookmarks__id"))


def likes_by(*, username: str, viewer: User | None = None) -> QuerySet[Post]:
    """Posts the user liked, newest like first, annotated `like_id`."""
    liker = User.objects.active_by_username(username).values("pk")
    liked = Post.objects.filter(likes__user__in=liker)
    return with_related(visible(liked, viewer)).annotate(like_id=F("likes__id"))


def tag_posts(*, tag: str, viewer: User | None = None) -> QuerySet[Post]:
    """Posts carrying `#tag` (any case), newest first, annotated `tagged_id` (the post's id,
    read from the tag's own index so deep pages stay cheap)."""
    # A scalar subquery: the planner then walks the (hashtag, post) index backwards for the
    # one tag and stops at the page's end; with `IN` it guessed an average tag and sorted
    # every post of a popular one (0.5 s for a tag on 100k posts).
    hashtag = Subquery(Hashtag.objects.filter(name=normalise_tag(tag)).values("pk")[:1])
    tagged = Post.objects.filter(tag_links__hashtag=hashtag)
    return with_related(visible(tagged, viewer)).annotate(tagged_id=F("tag_links__post_id"))


def trending_tags() -> list[dict]:
    """Up to TRENDING_SIZE tags of the last 24 h, ranked by how many accounts used them,
    then by posts. Computed at most once a minute (cached)."""
    result = cache.get("posts:trending")
    if result is None:
        since = timezone.now() - TRENDING_WINDOW
        result = list(
            PostHashtag.objects.filter(created_at__gte=since)
            .values(name=F("hashtag__name"))
            .annotate(posts=Count("post_id"), authors=Count("author_id", distinct=True))
            .order_by("-authors", "-posts", "name")[:TRENDING_SIZE]
        )
        cache.set("posts:trending", result, settings.TRENDING_CACHE_SECONDS)
    return result


class ViewerFlags(NamedTuple):
    liked: frozenset
    reposted: frozenset
    bookmarked: frozenset


NO_FLAGS = ViewerFlags(frozenset(), frozenset(), frozenset())
_LIKED, _REPOSTED, _BOOKMARKED = 1, 2, 3


def viewer_flags(*, viewer: User | None, post_ids: set[int]) -> ViewerFlags:
    """Which of the posts the viewer liked, reposted and bookmarked: one query, whatever the
    number of posts."""
    if viewer is None or not viewer.is_authenticated or not post_ids:
        return NO_FLAGS
    ids = sorted(post_ids)
    with connection.cursor() as cursor:
        cursor.execute(*_flags_sql(viewer.pk, ids))
        rows = cursor.fetchall()
    found: dict[int, set] = {_LIKED: set(), _REPOSTED: set(), _BOOKMARKED: set()}
    for post_id, kind in rows:
        found[kind].add(post_id)
    return ViewerFlags(
        frozenset(found[_LIKED]), frozenset(found[_REPOSTED]), frozenset(found[_BOOKMARKED])
    )


def flags_of(rows: list[PostRow], viewer: User | None) -> ViewerFlags:
    """The viewer's flags for `rows`: read with the rows when their list carried them (a
    `PostRows` with a viewer), else with `viewer_flags`' one query."""
    if rows and rows[0].liked is not None:
        return ViewerFlags(
            frozenset(row.original_id for row in rows if row.liked),
            frozenset(row.original_id for row in rows if row.reposted),
            frozenset(row.original_id for row in rows if row.bookmarked),
        )
    return viewer_flags(viewer=viewer, post_ids={row.original_id for row in rows})


def _flags_sql(viewer_id: int, ids: list[int]) -> tuple[str, list]:
    """One fixed statement for the three flags. On PostgreSQL the ids are one array
    parameter (`= ANY`), so every page size shares a statement that is planned once per
    connection; the ORM's `UNION` of three querysets was compiled anew on every request and
    cost ten times the query (docs/benchmarks.md)."""
    qn = connection.ops.quote_name
    if connection.vendor == "postgresql":
        match, ids_params = "= ANY(%s)", [ids]
    else:
        match, ids_params = f"IN ({', '.join(['%s'] * len(ids))})", ids
    sql = (
        f"SELECT post_id, {_LIKED} FROM {qn(Like._meta.db_table)} "  # noqa: S608
        f"WHERE user_id = %s AND post_id {match} "
        f"UNION ALL SELECT repost_of_id, {_REPOSTED} FROM {qn(Post._meta.db_table)} "
        f"WHERE author_id = %s AND repost_of_id {match} "
        f"UNION ALL SELECT post_id, {_BOOKMARKED} FROM {qn(Bookmark._meta.db_table)} "
        f"WHERE user_id = %s AND post_id {match}"
    )
    return sql, [viewer_id, *ids_params] * 3


# --- lists of posts in fixed SQL --------------------------------------------------------

_POST_COLUMNS = (
    "{p}.id, {p}.text, {p}.created_at, {u}.id, {u}.username, {u}.display_name, {u}.avatar, "
    "{p}.reply_to_id, {r}.username, {p}.conversation, {p}.reply_count, {p}.like_count, "
    "{p}.repost_count, {p}.mentions, {p}.hashtags"
)
_WIDTH = 15


class Source(NamedTuple):
    """Where a list of posts comes from, as fixed SQL: `tables` joins the post `p` (and
    whatever the list is drawn from), `where` selects; both hold `%s` placeholders for the
    list's parameters, in order. `key` is the unique column the list is ordered and paged
    by, `field` its name for DRF's cursor pagination."""

    tables: str
    where: str
    key: str = "p.id"
    field: str = "id"


def post_columns() -> str:
    """The columns of a post `p` and of its original `o` (`post_joins`), as `post_row`
    reads them."""
    return ", ".join(_POST_COLUMNS.format(p=p, u=u, r=r) for p, u, r in _POST_ALIASES)


_POST_ALIASES = (("p", "u", "ru"), ("o", "ou", "oru"))


def post_joins(author_join: str = "JOIN") -> str:
    """The joins of `post_columns` to a post `p`: its author (`author_join`), the author it
    replies to, and for a repost the original with the same two."""
    qn = connection.ops.quote_name
    posts, users = qn(Post._meta.db_table), qn(User._meta.db_table)
    return (
        f"{author_join} {users} u ON u.id = p.author_id "
        f"LEFT JOIN {users} ru ON ru.id = p.reply_to_author_id "
        f"LEFT JOIN {posts} o ON o.id = p.repost_of_id "
        f"LEFT JOIN {users} ou ON ou.id = o.author_id "
        f"LEFT JOIN {users} oru ON oru.id = o.reply_to_author_id"
    )


def with_flags(page: str, direction: str) -> str:
    """`page` (whose rows name the post to flag `flagged` and their order `page_key`) with
    whether the viewer (three `%s` before the page's) liked, reposted and bookmarked it, as
    `viewer_flags` reads them.

    The flags are read for the page's rows only, outside its LIMIT: inside it PostgreSQL
    hashed every like and repost of the viewer's for each page (550 rows, 2-3 ms for an
    active account) instead of probing the unique indexes for the page's 20 posts."""
    qn = connection.ops.quote_name
    posts = qn(Post._meta.db_table)
    likes, bookmarks = qn(Like._meta.db_table), qn(Bookmark._meta.db_table)
    return (
        "SELECT q.*, "  # noqa: S608
        f"EXISTS (SELECT 1 FROM {likes} fl WHERE fl.user_id = %s AND fl.post_id = q.flagged), "
        f"EXISTS (SELECT 1 FROM {posts} fr WHERE fr.author_id = %s "
        "AND fr.repost_of_id = q.flagged), "
        f"EXISTS (SELECT 1 FROM {bookmarks} fb WHERE fb.user_id = %s AND fb.post_id = q.flagged) "
        f"FROM ({page}) q ORDER BY q.page_key {direction}"
    )


@functools.lru_cache(maxsize=1024)
def _statement(source: Source, bound: str, descending: bool, limit: int, flags: bool) -> str:
    """The post, its author, the author replied to, and for a repost the original with the
    same two; the posts of a suspended account, and reposts of them, left out. With
    `flags`, also what the viewer did to the post's original (`with_flags`): one round
    trip a page.

    The limit is written into the text: as a parameter, PostgreSQL never moved the
    prepared statement to its generic plan and planned the 7-way join on every execution
    (1.6-3.8 ms against 0.2-0.5 ms of execution). Page sizes are bounded (1 to 101), so a
    connection prepares a few statements per list at most."""
    direction = "DESC" if descending else "ASC"
    page = (
        f"SELECT {post_columns()}"  # noqa: S608
        f"{', COALESCE(o.id, p.id) AS flagged, ' + source.key + ' AS page_key' if flags else ''} "
        f"FROM {source.tables} {post_joins()} "
        f"WHERE ({source.where}) AND u.is_active AND (o.id IS NULL OR ou.is_active) {bound} "
        f"ORDER BY {source.key} {direction} LIMIT {limit:d}"
    )
    return with_flags(page, direction) if flags else page


class PostRows:
    """A list of posts as DRF's CursorPagination sees a queryset: it can be ordered by its
    key, bounded by `<key>__lt` / `<key>__gt` and sliced, and each slice is one fixed
    statement (`_statement`) with bound parameters.

    The hottest lists are read this way. Their SQL is fixed text, which PostgreSQL plans
    once per connection (a prepared statement), and rows come back without building model
    instances: the ORM's compiling (of the joins and the block subqueries) and
    instantiating (five models a row) took many times longer than the query itself
    (docs/benchmarks.md). They answer exactly as the querysets they stand for (the golden
    responses, posts/tests/test_golden.py)."""

    def __init__(
        self,
        source: Source,
        params: tuple,
        descending: bool = True,
        bound: tuple[str, int] | None = None,
        viewer_id: int | None = None,
    ):
        self.source, self.params = source, params
        self.descending, self.bound = descending, bound
        # Whose flags each row carries (none when nobody is signed in).
        self.viewer_id = viewer_id

    def order_by(self, *fields: str) -> "PostRows":
        if fields not in ((f"-{self.source.field}",), (self.source.field,)):
            raise ValueError(f"this list is ordered by {self.source.field} only, not {fields}")
        return type(self)(
            self.source, self.params, fields[0].startswith("-"), self.bound, self.viewer_id
        )

    def filter(self, **kwargs) -> "PostRows":
        ((key, value),) = kwargs.items()
        if key not in (f"{self.source.field}__lt", f"{self.source.field}__gt"):
            raise ValueError(f"this list is bounded by {self.source.field} only, not {key}")
        return type(self)(
            self.source, self.params, self.descending, (key[-2:], int(value)), self.viewer_id
        )

    def statement(self, limit: int) -> tuple[str, list]:
        """The SQL and parameters of the first `limit` posts."""
        flags = self.viewer_id is not None
        params = [self.viewer_id] * 3 + list(self.params) if flags else list(self.params)
        bound = ""
        if self.bound is not None:
            operator, value = self.bound
            bound = f"AND {self.source.key} {'<' if operator == 'lt' else '>'} %s"
            params.append(value)
        return self.sql(bound, limit, flags), params

    def sql(self, bound: str, limit: int, flags: bool) -> str:
        """The statement's text: the `source`'s rows, bounded by `bound`, `limit` of them,
        with the viewer's flags when `flags`."""
        return _statement(self.source, bound, self.descending, limit, flags)

    def read_row(self, values: tuple[Any, ...]) -> Any:
        """One row of the statement as the list's item."""
        return post_row(values)

    def __getitem__(self, window: slice) -> list[PostRow]:
        if window.start:
            raise ValueError("lists of posts are paged by keys, never by offset")
        sql, params = self.statement(int(window.stop))
        if self.viewer_id is None:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
        else:
            # The account's state, when authentication left it to the request's first
            # statement, is read by this one (accounts.authentication.CheckAhead).
            order = f"q.page_key {'DESC' if self.descending else 'ASC'}"
            rows = authentication.fetch_ahead(sql, params, order)
        return [self.read_row(values) for values in rows]


def post_row(values: tuple[Any, ...], offset: int = 0) -> PostRow:
    """The post of a row of `post_columns` starting at `offset`, its original's columns
    (when a repost) after it; then, when the row carries them, the original's id and the
    page key, and the viewer's three flags."""
    original = _post(values, offset + _WIDTH) if values[offset + _WIDTH] is not None else None
    return _post(values, offset, original, values[offset + 2 * _WIDTH + 2 :])


def _post(values: tuple[Any, ...], start: int, original=None, flags=()) -> PostRow:
    return PostRow(
        values[start],
        values[start + 1],
        _aware(values[start + 2]),
        *values[start + 3 : start + 13],
        _json(values[start + 13]),
        _json(values[start + 14]),
        original,
        *flags,
    )


def _json(value):
    # PostgreSQL's jsonb may arrive decoded; SQLite's JSON arrives as text. orjson reads
    # what `json` reads into the same values, in a fraction of the time.
    return orjson.loads(value) if isinstance(value, str) else value


def _aware(value) -> datetime:
    # PostgreSQL returns aware datetimes; SQLite returns text in UTC.
    if isinstance(value, str):
        return parse_datetime(value).replace(tzinfo=UTC)
    return value


def feed_for(*, user: User) -> PostRows:
    """The home timeline: own posts and those of followed accounts, newest first.

    Filled on write (own posts at once, followees' posts by fan-out, backfill on follow) and
    capped at TIMELINE_CAP entries per user; the feed ends there."""
    return PostRows(_feed_source(), (user.pk,), viewer_id=user.pk)


@functools.lru_cache
def _feed_source() -> Source:
    qn = connection.ops.quote_name
    return Source(
        tables=f"{qn(TimelineEntry._meta.db_table)} t "
        f"JOIN {qn(Post._meta.db_table)} p ON p.id = t.post_id",
        where="t.user_id = %s",
        key="t.post_id",
        field="post_id",
    )


@functools.lru_cache
def _not_blocked() -> str:
    """`visible()`'s block rules in SQL, for a post `p` and its original `o`: neither author
    blocks the viewer or is blocked by them (four `%s`, the viewer's id). Written as the ORM
    writes them (`NOT IN` subqueries), which PostgreSQL plans as hashed subplans; as anti
    joins, a prepared search's generic plan took seconds."""
    blocks = connection.ops.quote_name(Block._meta.db_table)
    blocked = f"SELECT b.blocked_id FROM {blocks} b WHERE b.blocker_id = %s"  # noqa: S608
    blockers = f"SELECT b.blocker_id FROM {blocks} b WHERE b.blocked_id = %s"  # noqa: S608
    return (
        f"NOT (p.author_id IN ({blocked})) AND NOT (p.author_id IN ({blockers})) "
        f"AND NOT (o.author_id IN ({blocked}) AND o.author_id IS NOT NULL) "
        f"AND NOT (o.author_id IN ({blockers}) AND o.author_id IS NOT NULL)"
    )


def _visible_posts(
    where: list[str], params: list, viewer: User | None, tables: str = ""
) -> PostRows:
    """Posts `p` (joined with `tables`) that match `where`, as `visible()` lets `viewer` see
    them: with the block rules and their parameters when someone is signed in."""
    qn = connection.ops.quote_name
    viewer_id = None
    if viewer is not None and viewer.is_authenticated:
        viewer_id = viewer.pk
        where, params = [*where, _not_blocked()], [*params, *[viewer_id] * 4]
    source = Source(
        tables=f"{qn(Post._meta.db_table)} p{tables}", where=" AND ".join(where) or "TRUE"
    )
    return PostRows(source, tuple(params), viewer_id=viewer_id)
