"""The timestamptz loader of the project's PostgreSQL backend reads every value exactly as
Django's own loader does, only faster."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg import adapt
from psycopg.postgres import adapters
from psycopg.pq import Format

from common.postgresql.base import IsoTimestamptzLoader, adapters_template

TIMESTAMPTZ_OID = adapters.types["timestamptz"].oid

# PostgreSQL's ISO output: every fraction length, offsets with minutes and seconds, the ends
# of Python's range, and what only psycopg's loader reads or refuses.
TEXTS = [
    b"2026-12-02 18:55:03+00",
    b"2026-12-02 18:55:03.1+00",
    b"2026-12-02 18:55:03.123456+00",
    b"2026-12-02 18:55:03.000001+00",
    b"2026-12-02 18:55:03.12+05:30",
    b"1900-01-01 00:00:00+00:19:32",
    b"2026-06-01 12:00:00-07",
    b"0001-01-01 00:00:00+00",
    b"0001-01-01 00:00:00+05",
    b"9999-12-31 23:00:00-05",
    b"9999-12-31 23:59:59.999999+00",
    b"10000-01-01 00:00:00+00",
    b"0044-03-15 12:00:00+00 BC",
    b"infinity",
    b"-infinity",
    b"not a timestamp",
]


def loaders(tz):
    django_context = adapt.AdaptersMap(adapters)
    register_tzloader(tz, django_context)
    ours = adapters_template(True, tz).get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    theirs = django_context.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    return ours(TIMESTAMPTZ_OID), theirs(TIMESTAMPTZ_OID)


def outcome(loader, text):
    try:
        value = loader.load(text)
    except Exception as error:  # the same failure, by type and message
        return type(error), str(error)
    return value, value.tzinfo, value.utcoffset()


@pytest.mark.parametrize("tz", [UTC, timezone(timedelta(hours=2)), None])
@pytest.mark.parametrize("text", TEXTS)
def test_each_value_is_read_as_djangos_loader_reads_it(tz, text):
    ours, theirs = loaders(tz)
    assert isinstance(ours, IsoTimestamptzLoader)
    assert outcome(ours, text) == outcome(theirs, text)


def test_the_fast_path_reads_isos_text_without_psycopgs_parser(monkeypatch):
    ours, _ = loaders(UTC)
    monkeypatch.setattr(
        "psycopg.types.datetime.TimestamptzLoader.load", lambda *args: pytest.fail("slow path")
    )
    assert ours.load(b"2026-12-02 18:55:03.123456+00") == datetime(
        2026, 12, 2, 18, 55, 3, 123456, tzinfo=UTC
    )


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL backend's")
def test_connections_read_timestamps_with_it():
    values = [
        datetime(2026, 12, 2, 18, 55, 3, 123456, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 6, 1, 12, tzinfo=timezone(timedelta(hours=-7))),
    ]
    with connection.cursor() as cursor:
        loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
        assert issubclass(loader, IsoTimestamptzLoader)
        assert loader.timezone == connection.timezone
        for value in values:
            cursor.execute("SELECT %s::timestamptz", [value])
            (read,) = cursor.fetchone()
            assert read == value
            assert read.tzinfo is connection.timezone
