from django.http import HttpResponsePermanentRedirect
from django.middleware import common


class HttpResponsePermanentRedirectKeepingMethod(HttpResponsePermanentRedirect):
    status_code = 308


class CommonMiddleware(common.CommonMiddleware):
    """Django's, adding the missing trailing slash with a 308: unlike a 301, clients repeat
    a POST, PUT, PATCH or DELETE to the new URL with its method and body."""

    response_redirect_class = HttpResponsePermanentRedirectKeepingMethod
