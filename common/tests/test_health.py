"""The service checks shared by `/readyz` and `manage.py wait_for_services`: bounded by their
own short timeouts (not DATABASE_POOL_TIMEOUT), and saying why a service did not answer
without ever showing a password."""

import json
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command

from common.health import describe_failure
from common.testing import free_port, silent_listener
from notifications.tests.e2e import broker_url

ROOT = Path(__file__).resolve().parents[2]
# Far longer than any bounded check takes, and longer than the processes below may run: a
# check that waits for the pool's timeout instead of its own fails the test.
POOL_TIMEOUT = "60"
PROCESS_TIMEOUT = 30


@pytest.fixture
def silent_port():
    with silent_listener() as port:
        yield port


def run_python(args: list[str], tmp_path, **env) -> subprocess.CompletedProcess:
    """Run Python in the project with only the given variables set, at most PROCESS_TIMEOUT."""
    clean = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_POOL_TIMEOUT": POOL_TIMEOUT,
        **env,
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
        timeout=PROCESS_TIMEOUT,
    )


READYZ = (
    "import django; django.setup(); from django.test import Client; "
    "response = Client().get('/readyz'); print(response.status_code, response.content.decode())"
)


@pytest.mark.parametrize("answer", ["refused", "silent"])
def test_readyz_answers_503_without_waiting_for_the_pool_when_the_database_is_down(
    answer, silent_port, tmp_path
):
    port = free_port() if answer == "refused" else silent_port
    result = run_python(
        ["-c", READYZ], tmp_path, DATABASE_URL=f"postgres://warble@127.0.0.1:{port}/warble"
    )
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().split(" ", 1)
    assert status == "503"
    assert json.loads(body) == {"status": "unavailable", "checks": {"database": "unavailable"}}


def test_wait_for_services_gives_each_database_attempt_its_own_short_timeout(silent_port, tmp_path):
    """A database that never answers: each attempt ends after the check's timeout (libpq
    counts whole seconds, at least 2), with the reason, and the command gives up."""
    result = run_python(
        ["manage.py", "wait_for_services", "--timeout", "3", "--interval", "0.5"],
        tmp_path,
        DATABASE_URL=f"postgres://warble:pw-not-shown@127.0.0.1:{silent_port}/warble",
    )
    assert result.returncode == 1
    assert "waiting for: database (connection timeout expired)" in result.stdout
    assert "gave up after 3s waiting for: database (connection timeout expired)" in result.stderr
    assert "pw-not-shown" not in result.stdout + result.stderr


@pytest.mark.django_db
def test_wait_for_services_says_why_the_broker_refuses(settings):
    parsed = urlsplit(broker_url())
    settings.RABBITMQ_URL = parsed._replace(
        netloc=f"{parsed.username or 'guest'}:pw-not-shown@{parsed.hostname}:{parsed.port or 5672}"
    ).geturl()
    out = StringIO()
    with pytest.raises(CommandError, match=r"waiting for: broker \(ACCESS_REFUSED") as error:
        call_command("wait_for_services", "--timeout", "1", "--interval", "0.3", stdout=out)
    assert "waiting for: broker (ACCESS_REFUSED" in out.getvalue()
    assert "pw-not-shown" not in out.getvalue() + str(error.value)


@pytest.mark.django_db
def test_wait_for_services_bounds_the_broker_attempts_by_the_time_left(settings, silent_port):
    """A broker that never answers: attempts take the check's timeout (not the publish
    timeout), then what is left of --timeout."""
    settings.PUBLISH_TIMEOUT = 60
    settings.RABBITMQ_URL = f"amqp://guest:pw-not-shown@127.0.0.1:{silent_port}/"
    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("wait_for_services", "--timeout", "4", "--interval", "0.3", stdout=out)
    assert "waiting for: broker (no answer within 2s)" in out.getvalue()
    last = re.fullmatch(
        r"gave up after 4s waiting for: broker \(no answer within ([\d.]+)s\)", str(error.value)
    )
    assert last and float(last[1]) < 2
    assert "pw-not-shown" not in out.getvalue() + str(error.value)


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_wait_for_services_refuses_an_endless_timeout(value):
    with pytest.raises(CommandError, match="positive"):
        call_command("wait_for_services", "--timeout", value)


def test_failures_are_told_in_one_line_without_the_password():
    error = ConnectionError("no route to amqp://warble:p%2Fw%3As@rabbitmq:5672\n\tfor p/w:s")
    assert describe_failure(error, timeout=2, secrets=["p/w:s", None]) == (
        "no route to amqp://warble:***@rabbitmq:5672 for ***"
    )
    refused = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5672)")
    assert describe_failure(refused, timeout=2) == (
        "Connect call failed ('127.0.0.1', 5672): Connection refused"
    )
    assert describe_failure(TimeoutError(), timeout=0.999) == "no answer within 1s"
