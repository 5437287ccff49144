import uuid
from datetime import UTC, date, datetime, timedelta

from django.utils.translation import gettext_lazy
from drf_spectacular.generators import SchemaGenerator
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import renderers

from common.renderers import JSONRenderer

ours, drf = JSONRenderer(), renderers.JSONRenderer()

# What the API's payloads are made of: no floats (see the module's docstring).
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text()
    | st.datetimes(timezones=st.just(UTC))
)
payloads = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(payloads)
def test_writes_the_bytes_drf_writes(data):
    assert ours.render(data) == drf.render(data)


def test_writes_the_bytes_drf_writes_for_what_its_encoder_converts():
    data = {
        "separators": "a\u2028b\u2029c",
        "controls": "".join(map(chr, range(32))) + '"\\/\x7f',
        "non_ascii": "Caf\u00e9 \u65e5\u672c \U0001f600",
        "when": datetime(2026, 11, 27, 18, 20, 1, 123456, tzinfo=UTC),
        "day": date(2026, 11, 27),
        "lazy": gettext_lazy("Not found."),
        "id": uuid.UUID(int=7),
        "duration": timedelta(seconds=90),
        "big": 2**64,
    }
    assert ours.render(data) == drf.render(data)
    assert ours.render(None) == drf.render(None) == b""


def test_leaves_indented_answers_to_drf():
    data = {"a": [1, 2]}
    assert ours.render(data, "application/json; indent=2") == drf.render(
        data, "application/json; indent=2"
    )
    assert b"\n" in ours.render(data, "application/json; indent=2")


def test_strings_that_are_not_unicode_are_drfs_to_answer():
    # orjson refuses a lone surrogate; DRF's renderer decides, as it always did.
    try:
        expected = drf.render({"text": "\ud800"})
    except UnicodeEncodeError:
        expected = UnicodeEncodeError
    try:
        got = ours.render({"text": "\ud800"})
    except UnicodeEncodeError:
        got = UnicodeEncodeError
    assert got == expected


def _number_types(node, path=""):
    if isinstance(node, dict):
        if node.get("type") == "number":
            yield path
        for key, value in node.items():
            yield from _number_types(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _number_types(value, f"{path}/{index}")


def test_the_api_returns_no_floating_point_numbers():
    """orjson and `json` spell some floats differently; a float field would need the
    renderer to handle it before it lands."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert list(_number_types(schema["components"])) == []
    assert list(_number_types(schema["paths"])) == []
