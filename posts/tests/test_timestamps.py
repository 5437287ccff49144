from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from django.utils import timezone as django_timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from posts.serializers import timestamp

drf = serializers.DateTimeField()
zones = st.sampled_from(
    [UTC, ZoneInfo("UTC"), ZoneInfo("Europe/Paris"), timezone(timedelta(hours=-3, minutes=-30))]
)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1901, 1, 1), timezones=zones))
def test_writes_what_drfs_datetime_field_writes(value):
    assert timestamp(value) == drf.to_representation(value)


def test_writes_what_drf_writes_under_another_time_zone():
    value = datetime(2026, 11, 27, 18, 20, 0, 5, tzinfo=UTC)
    assert timestamp(value) == "2026-11-27T18:20:00.000005Z"
    with django_timezone.override(ZoneInfo("Asia/Tokyo")):
        expected = "2026-11-28T03:20:00.000005+09:00"
        assert timestamp(value) == drf.to_representation(value) == expected
