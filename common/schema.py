"""OpenAPI fragments and the schema generator shared by every endpoint."""

from drf_spectacular import openapi
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny

ErrorDetail = inline_serializer("ErrorDetail", {"detail": serializers.CharField()})

UNAUTHORIZED = OpenApiResponse(ErrorDetail, description="Missing, bad or expired token.")
FORBIDDEN = OpenApiResponse(ErrorDetail, description="Signed in but not allowed.")
NOT_FOUND = OpenApiResponse(ErrorDetail, description="No such object.")
THROTTLED = OpenApiResponse(ErrorDetail, description="Too many requests; see Retry-After.")
BAD_REQUEST = OpenApiResponse(
    {"type": "object", "additionalProperties": True},
    description='Invalid input: `{"field": ["message", ...]}` or `{"detail": "message"}`.',
)


class JWTScheme(SimpleJWTScheme):
    """Documents the project's JWT authentication as Simple JWT's bearer scheme."""

    target_class = "accounts.authentication.JWTAuthentication"


class AutoSchema(openapi.AutoSchema):
    """Adds the error responses that whole classes of endpoints share, so each view documents
    only its own: 401 where a token is needed, 404 where the path names an object, 400 where
    input (a body, filters, a cursor or a page size) is read."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        shared = {}
        if self._needs_token():
            shared["401"] = UNAUTHORIZED
        if "{" in self.path:
            shared["404"] = NOT_FOUND
        if self.method in ("POST", "PUT", "PATCH") or self._is_list_view():
            shared["400"] = BAD_REQUEST
        for code, response in shared.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses

    def _needs_token(self) -> bool:
        return not any(isinstance(p, AllowAny) for p in self.view.get_permissions())
