from django.conf import settings
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as sessions_middleware
from django.http import HttpResponsePermanentRedirect
from django.middleware import common
from django_htmx import middleware as htmx_middleware


class HttpResponsePermanentRedirectKeepingMethod(HttpResponsePermanentRedirect):
    status_code = 308


class CommonMiddleware(common.CommonMiddleware):
    """Django's, adding the missing trailing slash with a 308: unlike a 301, clients repeat
    a POST, PUT, PATCH or DELETE to the new URL with its method and body."""

    response_redirect_class = HttpResponsePermanentRedirectKeepingMethod


def is_api_path(path: str) -> bool:
    """Whether `path` (a request's `path_info`) is the token-authenticated API's, whose
    answers and errors are JSON (`API_PATH_PREFIXES`)."""
    return path.startswith(tuple(settings.API_PATH_PREFIXES))


class BrowserOnly:
    """For middleware that only browsers' pages use (the web client's and the admin's:
    sessions, the session's sign-in, messages, htmx): requests under `API_PATH_PREFIXES`
    pass straight through to the next layer.

    The API authenticates by token alone (`REST_FRAMEWORK`'s authentication classes) and
    reads no session, message or htmx header, so what these layers did on its requests
    (a lazy session store and user, a message storage, an htmx reader, each set on the
    request and looked at again on the way out) changed nothing in its answers; it cost
    about 4% of a home feed request's instructions (docs/benchmarks.md, "The read path").
    A browser's session cookie sent to the API is ignored, as it always was, and the
    request's log line carries the user the token authenticated, or none."""

    def __call__(self, request):
        if is_api_path(request.path_info):
            # In either mode: under ASGI, `get_response` returns the awaitable.
            return self.get_response(request)
        return super().__call__(request)


class SessionMiddleware(BrowserOnly, sessions_middleware.SessionMiddleware):
    """Django's, for browsers' pages only (`BrowserOnly`)."""


class MessageMiddleware(BrowserOnly, messages_middleware.MessageMiddleware):
    """Django's, for browsers' pages only (`BrowserOnly`)."""


class HtmxMiddleware(BrowserOnly, htmx_middleware.HtmxMiddleware):
    """django-htmx's, for browsers' pages only (`BrowserOnly`)."""
