"""Request bodies as Django and DRF expect them, whichever server runs the app.

Django and DRF read `Content-Length` bytes of a body and take a body without that header as
empty, so a chunked upload (`Transfer-Encoding: chunked`) would arrive as nothing. These
wrappers give such a body its length, reading at most `body_limit()` bytes of it.

A body longer than the limit (announced, or found while reading a chunked one) is never
read into the process: the app sees its length and no content, and refuses it as it refuses
any body over its limits (the avatar upload with a 400 on the file's size, other endpoints
with Django's `RequestDataTooBig`, a 413). Both servers answer the same.
"""

import io

from django.conf import settings

_FRAMING = (b"content-length", b"transfer-encoding")


def body_limit() -> int:
    """The longest body any endpoint accepts, with room for a multipart envelope."""
    return max(settings.AVATAR_MAX_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE) + 1024 * 1024


class ASGIBodyLimit:
    """For the ASGI servers (daphne, uvicorn)."""

    def __init__(self, app, limit: int | None = None):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit or body_limit()
        headers = scope.get("headers", [])
        framing = {name: value for name, value in headers if name in _FRAMING}
        announced = framing.get(b"content-length")
        if announced is not None:
            if not (announced.isdigit() and int(announced) > limit):
                return await self.app(scope, receive, send)
            body = None
        elif b"chunked" not in framing.get(b"transfer-encoding", b"").lower():
            # Neither length nor chunks: no body (most requests), nothing to do.
            return await self.app(scope, receive, send)
        else:
            body = bytearray()
            more = True
            while more and len(body) <= limit:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None
                body += message.get("body", b"")
                more = message.get("more_body", False)
            length = len(body)
            body = None if length > limit else bytes(body)
            headers = [*headers, (b"content-length", str(length).encode())]
            scope = {**scope, "headers": headers}
        return await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes | None, receive):
    """A `receive` that gives the app `body` (or nothing) in one message, then only what is
    not body: the rest of a refused body is read and dropped until the client goes."""
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body or b"", "more_body": False}
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message

    return replayed


class WSGIBodyLimit:
    """For gunicorn, which hands a chunked body over without a `CONTENT_LENGTH`."""

    def __init__(self, app, limit: int | None = None):
        self.app, self.limit = app, limit

    def __call__(self, environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH"):
            limit = self.limit or body_limit()
            body = environ["wsgi.input"].read(limit + 1)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ["wsgi.input"] = io.BytesIO(b"" if len(body) > limit else body)
        return self.app(environ, start_response)
