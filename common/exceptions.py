"""One place that maps domain errors raised by services to HTTP responses.

A database outage is not a domain error: it reaches Django and becomes a 503 in
common.availability."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from common.availability import RETRY_AFTER


class ServiceUnavailable(exceptions.APIException):
    """A backing service (media store, broker) failed; nothing was saved."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A backing service is unavailable; try again later."
    default_code = "service_unavailable"


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError({"detail": " ".join(exc.messages)})
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        response["Retry-After"] = str(RETRY_AFTER)
    return response
