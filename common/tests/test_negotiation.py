import pytest
from django.http import Http404
from rest_framework import exceptions, negotiation, renderers
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from common import negotiation as remembered
from common.renderers import JSONRenderer

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "application/*",
    "text/html",
    "text/html, application/json;q=0.9",
    "application/xml",
    "*/*; indent=2",
    "",
]
RENDERER_SETS = [
    [JSONRenderer],
    [JSONRenderer, renderers.BrowsableAPIRenderer],
    [renderers.TemplateHTMLRenderer, JSONRenderer],
]


def _answer(negotiator, accept, query, renderer_classes):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/api/feed/{query}", **headers))
    choices = [renderer() for renderer in renderer_classes]
    try:
        renderer, media_type = negotiator.select_renderer(request, choices)
    except (exceptions.NotAcceptable, Http404) as refusal:
        return type(refusal).__name__
    return choices.index(renderer), type(renderer), media_type


@pytest.mark.parametrize("renderer_classes", RENDERER_SETS)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=api", "?format=xml"])
@pytest.mark.parametrize("accept", ACCEPTS)
def test_remembered_choices_are_drfs(accept, query, renderer_classes, monkeypatch):
    monkeypatch.setattr(remembered, "_choices", {})
    expected = _answer(negotiation.DefaultContentNegotiation(), accept, query, renderer_classes)
    computed = _answer(remembered.ContentNegotiation(), accept, query, renderer_classes)
    looked_up = _answer(remembered.ContentNegotiation(), accept, query, renderer_classes)
    assert computed == looked_up == expected
    # Refusals are never remembered; accepted choices are.
    assert bool(remembered._choices) == (not isinstance(expected, str))


def test_choices_are_bounded(monkeypatch):
    monkeypatch.setattr(remembered, "_choices", {})
    for number in range(remembered._MAX_CHOICES + 50):
        accept = f"application/json; v={number}"
        assert _answer(remembered.ContentNegotiation(), accept, "", [JSONRenderer]) == (
            0,
            JSONRenderer,
            accept,
        )
    assert len(remembered._choices) == remembered._MAX_CHOICES
