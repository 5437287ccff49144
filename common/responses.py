"""Responses shared by the API's idempotent writes."""

from rest_framework import status
from rest_framework.response import Response


def created_or_ok(data, created: bool) -> Response:
    """`201` for a write that made something, `200` for a repeat that found it made."""
    return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
