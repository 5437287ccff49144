from rest_framework_simplejwt import authentication


class JWTAuthentication(authentication.JWTAuthentication):
    """Simple JWT's authentication, with the `Bearer` scheme matched in any case, as HTTP
    auth schemes are (RFC 9110)."""

    def get_raw_token(self, header: bytes) -> bytes | None:
        parts = header.split()
        if len(parts) == 2 and parts[0].lower() == b"bearer":
            return parts[1]
        return super().get_raw_token(header)
