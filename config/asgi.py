"""ASGI entry point: HTTP (Django) and websockets (Channels) in one application.

The embedded mode serves it with daphne; in production the websocket servers run it."""

import asyncio
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django must be set up before the routing imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from notifications import transport  # noqa: E402
from notifications.auth import JWTAuthMiddleware, origin_checked  # noqa: E402
from notifications.routing import websocket_urlpatterns  # noqa: E402


class BodySizeLimit:
    """Answers 413 to HTTP requests that announce a body larger than any endpoint accepts,
    before the ASGI handler reads (and spools) it."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            for name, value in scope.get("headers", ()):
                if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                    body = b'{"detail": "Request body too large."}'
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 413,
                            "headers": [
                                (b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                            ],
                        }
                    )
                    await send({"type": "http.response.body", "body": body})
                    return
        return await self.app(scope, receive, send)


class BindServerLoop:
    """Remembers the server's event loop: in-process fan-out (embedded mode) runs there,
    beside the websocket consumers and the in-memory channel layer."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        transport.bind_server_loop(asyncio.get_running_loop())
        return await self.app(scope, receive, send)


application = BindServerLoop(
    ProtocolTypeRouter(
        {
            "http": BodySizeLimit(
                django_asgi_app,
                max(settings.AVATAR_MAX_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE) + 1024 * 1024,
            ),
            "websocket": origin_checked(JWTAuthMiddleware(URLRouter(websocket_urlpatterns))),
        }
    )
)
