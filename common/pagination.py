"""Pagination shared by every list endpoint.

Timelines use keyset (cursor) pagination on a unique, monotonically increasing integer, so
pages stay stable while new rows arrive and no query ever uses OFFSET. Malformed input is a
400, never a 404 or a 500.
"""

import base64
from urllib import parse

from rest_framework import pagination
from rest_framework.exceptions import NotFound, ParseError, ValidationError

MAX_POSITION = 2**63 - 1
_CURSOR_KEYS = {"o", "r", "p"}


def _well_formed(raw: str) -> bool:
    """DRF decodes cursors leniently (garbage reads as "first page"); ours must be what
    `next`/`previous` links contain: strict base64 of a query string of o, r and p."""
    try:
        decoded = base64.b64decode(raw.encode("ascii"), validate=True).decode("ascii")
    except (ValueError, UnicodeError):
        return False
    keys = set(parse.parse_qs(decoded, keep_blank_values=True))
    return bool(keys) and keys <= _CURSOR_KEYS


def _page_size(request, param: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(param)
    if raw in (None, ""):
        return default
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if size < 1:
        raise ValidationError({param: ["A positive integer is required."]})
    return min(size, maximum)


class CursorPagination(pagination.CursorPagination):
    """Newest first by a unique integer key; `?page_size=` up to 100."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = "-id"

    def get_page_size(self, request):
        return _page_size(request, self.page_size_query_param, self.page_size, self.max_page_size)

    def decode_cursor(self, request):
        raw = request.query_params.get(self.cursor_query_param)
        if raw is not None and not _well_formed(raw):
            raise ParseError("Invalid cursor.")
        try:
            cursor = super().decode_cursor(request)
        except NotFound as exc:
            raise ParseError("Invalid cursor.") from exc
        if cursor is not None:
            # Orderings here are unique, so links never carry an offset.
            if cursor.offset:
                raise ParseError("Invalid cursor.")
            if cursor.position is not None:
                try:
                    position = int(cursor.position)
                except ValueError:
                    position = -1
                if not 0 <= position <= MAX_POSITION:
                    raise ParseError("Invalid cursor.")
        return cursor


def cursor_pagination(ordering_field: str) -> type[CursorPagination]:
    """A cursor pagination class ordered newest first on `ordering_field`."""
    return type(
        f"CursorPagination_{ordering_field.replace('__', '_')}",
        (CursorPagination,),
        {"ordering": f"-{ordering_field}"},
    )


class PageNumberPagination(pagination.PageNumberPagination):
    """Numbered pages with a total `count`, for admin lists."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        return _page_size(request, self.page_size_query_param, self.page_size, self.max_page_size)
