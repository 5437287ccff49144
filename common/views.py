"""JSON error pages for the API, and local media."""

import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views import defaults
from django.views.static import serve

from common.availability import database_outage, is_database_unavailable, unavailable_response
from common.middleware import is_api_path


def _is_api(request) -> bool:
    return is_api_path(request.path_info)


def not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    # Django calls this while handling the exception: a database outage met outside a view
    # (in a middleware) is a 503 for every path, like one met inside.
    exc = sys.exc_info()[1]
    if is_database_unavailable(exc):
        database_outage.down(exc)
        return unavailable_response()
    if _is_api(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)


def bad_request(request, exception=None):
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return JsonResponse({"detail": "Request body too large."}, status=413)
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if _is_api(request):
        return JsonResponse({"detail": "Forbidden."}, status=403)
    return defaults.permission_denied(request, exception)


def media(request, path):
    """Local media files (the embedded default), served by the app itself, DEBUG or not.
    They are pictures re-encoded by the avatar pipeline under random names."""
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    response["Cache-Control"] = "public, max-age=86400"
    return response
