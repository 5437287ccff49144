"""DRF's content negotiation, remembered.

DRF parses the Accept header and matches it against the view's renderers on every request
(a twentieth of a feed request's time). The answer depends only on the renderer classes, the
header and the `format` asked for, so it is computed by DRF's own negotiation once per
combination and looked up afterwards. A request DRF refuses (406, or 404 for an unknown
format) is refused by DRF every time: refusals are not remembered.
"""

from rest_framework import negotiation

# Bounded: an Accept header is the client's to choose; past the bound, answers are computed
# (as DRF always did) instead of remembered.
_MAX_CHOICES = 256
_choices: dict[tuple, tuple[int, str]] = {}


class ContentNegotiation(negotiation.DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        asked = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        key = (tuple(map(type, renderers)), request.META.get("HTTP_ACCEPT"), asked)
        choice = _choices.get(key)
        if choice is None:
            renderer, media_type = super().select_renderer(request, renderers, format_suffix)
            index = next(i for i, candidate in enumerate(renderers) if candidate is renderer)
            choice = (index, media_type)
            if len(_choices) < _MAX_CHOICES:
                _choices[key] = choice
        return renderers[choice[0]], choice[1]
