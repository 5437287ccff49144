"""Pagination shared by every list endpoint.

Timelines use keyset (cursor) pagination on a unique, monotonically increasing integer, so
pages stay stable while new rows arrive and no query ever uses OFFSET. Malformed input is a
400, never a 404 or a 500.
"""

import base64
from urllib import parse

from rest_framework import pagination
from rest_framework.exceptions import ParseError, ValidationError

MAX_POSITION = 2**63 - 1
_CURSOR_KEYS = {"o", "r", "p"}
_INVALID = "Invalid cursor."


def _decode(raw: str) -> pagination.Cursor:
    """A cursor exactly as our `next`/`previous` links write it: strict base64 of a query
    string of `r` (0 or 1) and `p` (a key), no offset (orderings here are unique). DRF's own
    decoding is lenient: garbage would read as "first page", a bad key reach the database."""
    try:
        decoded = base64.b64decode(raw.encode("ascii"), validate=True).decode("ascii")
    except (ValueError, UnicodeError):
        raise ParseError(_INVALID) from None
    fields = parse.parse_qs(decoded, keep_blank_values=True)
    if not fields or set(fields) - _CURSOR_KEYS or any(len(v) != 1 for v in fields.values()):
        raise ParseError(_INVALID)
    offset, reverse = fields.get("o", ["0"])[0], fields.get("r", ["0"])[0]
    position = fields.get("p", [None])[0]
    if offset != "0" or reverse not in {"0", "1"}:
        raise ParseError(_INVALID)
    if position is not None and not (position.isdigit() and int(position) <= MAX_POSITION):
        raise ParseError(_INVALID)
    return pagination.Cursor(offset=0, reverse=reverse == "1", position=position)


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
        return None if raw is None else _decode(raw)


def cursor_pagination(ordering_field: str, *, newest_first: bool = True) -> type[CursorPagination]:
    """A cursor pagination class ordered on `ordering_field`, newest first (or oldest)."""
    direction = "-" if newest_first else ""
    return type(
        f"CursorPagination_{direction and 'desc_'}{ordering_field.replace('__', '_')}",
        (CursorPagination,),
        {"ordering": f"{direction}{ordering_field}"},
    )


class PageNumberPagination(pagination.PageNumberPagination):
    """Numbered pages with a total `count`, for admin lists."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        return _page_size(request, self.page_size_query_param, self.page_size, self.max_page_size)
