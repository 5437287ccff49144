"""JSON rendering with orjson, byte for byte what DRF's JSONRenderer writes.

DRF's renderer runs `json.dumps` with its encoder: compact separators, UTF-8 left unescaped,
U+2028 and U+2029 escaped afterwards. orjson writes the same bytes for every type the API
returns (strings, integers, booleans, null, lists and objects) in a tenth of the time; what
it would write differently goes to DRF's renderer instead:

- the types DRF's encoder converts (dates, lazy strings, UUIDs, ...) go through that same
  conversion (`default=`);
- numbers orjson cannot write (integers beyond 64 bits) and strings that are not valid
  Unicode make orjson refuse, and DRF's renderer answers as it always did;
- an `indent` asked for in the Accept header, or by the browsable API, is DRF's.

The API returns no floating-point numbers (orjson and `json` spell some of them differently:
`1e16` against `1e+16`); `common/tests/test_renderers.py` fails if the OpenAPI schema ever
gains one.
"""

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

_ENCODER = JSONEncoder()
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_LINE_SEPARATORS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if (
            data is None
            or self.ensure_ascii
            or not self.compact
            or self.get_indent(accepted_media_type, renderer_context or {}) is not None
        ):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            body = orjson.dumps(data, default=_ENCODER.default, option=_OPTIONS)
        except TypeError:
            return super().render(data, accepted_media_type, renderer_context)
        if b"\xe2\x80" in body:
            for raw, escaped in _LINE_SEPARATORS:
                body = body.replace(raw, escaped)
        return body
