"""Full-text search of posts.

On PostgreSQL: `websearch_to_tsquery` against the same `to_tsvector` expression that the GIN
index `posts_post_text_search` is built on (migration 0002), so the index serves the match.
On SQLite (the embedded default): every word must appear, case-insensitively.
"""

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import QuerySet

SEARCH_CONFIG = "english"
MAX_FALLBACK_TERMS = 10


def search_document() -> SearchVector:
    """The indexed expression: to_tsvector('english', COALESCE(text, ''))."""
    return SearchVector("text", config=SEARCH_CONFIG)


def filter_by_search(queryset: QuerySet, query: str) -> QuerySet:
    query = query.strip()
    if not query:
        return queryset
    if connection.vendor == "postgresql":
        return queryset.alias(document=search_document()).filter(
            document=SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
        )
    terms = [term.strip('"') for term in query.split()][:MAX_FALLBACK_TERMS]
    for term in filter(None, terms):
        queryset = queryset.filter(text__icontains=term)
    return queryset


def search_condition(column: str) -> tuple[str, list]:
    """On PostgreSQL, the match of `filter_by_search` as SQL for fixed statements, with its
    parameters but for the query itself (one `%s`, last): the same text and parameters as
    the ORM's, so that PostgreSQL plans it as it planned those (a prepared statement's
    generic plan with the configuration written in chose the GIN index for common words,
    and took seconds)."""
    return (
        f"to_tsvector(%s::regconfig, COALESCE({column}, %s)) "
        f"@@ (websearch_to_tsquery(%s::regconfig, %s))",
        [SEARCH_CONFIG, "", SEARCH_CONFIG],
    )
