"""ASGI entry point: HTTP (Django) and websockets (Channels) in one application.

The embedded mode serves it with daphne (config/daphne.py); in production the websocket
servers run it."""

import asyncio
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django must be set up before the routing imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from common import transport  # noqa: E402
from common.bodies import ASGIBodyLimit  # noqa: E402
from notifications.auth import JWTAuthMiddleware, origin_checked  # noqa: E402
from notifications.routing import websocket_urlpatterns  # noqa: E402


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
            "http": ASGIBodyLimit(django_asgi_app),
            # Browsers on the web client's own pages sign in with the session cookie; API
            # clients with a JWT. The origin check runs first, so another site's page cannot
            # use a visitor's cookie.
            "websocket": origin_checked(
                AuthMiddlewareStack(JWTAuthMiddleware(URLRouter(websocket_urlpatterns)))
            ),
        }
    )
)
