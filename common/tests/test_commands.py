import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from common.testing import free_port, make_user
from notifications.models import Notification

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_wait_for_services_returns_when_the_database_answers():
    out = StringIO()
    call_command("wait_for_services", "--timeout", "5", stdout=out)
    assert "database: ready" in out.getvalue()


@pytest.mark.django_db
def test_wait_for_services_gives_up_on_an_unreachable_broker(settings):
    settings.RABBITMQ_URL = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    out = StringIO()
    with pytest.raises(CommandError, match="broker"):
        call_command("wait_for_services", "--timeout", "1.5", "--interval", "0.5", stdout=out)
    assert "database: ready" in out.getvalue()
    assert "waiting for: broker" in out.getvalue()


def test_wait_for_services_fails_for_an_unreachable_database(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://nobody@127.0.0.1:{free_port()}/nothing",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "wait_for_services", "--timeout", "1", "--interval", "0.3"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    # Each attempt says why it failed; the last one too, when the command gives up.
    assert "waiting for: database (connection failed:" in result.stdout
    assert "Connection refused" in result.stdout
    assert "gave up after 1s waiting for: database (connection failed:" in result.stderr


@pytest.mark.parametrize("args", [["--timeout", "0"], ["--interval", "-1"]])
def test_wait_for_services_validates_its_options(args):
    with pytest.raises(CommandError):
        call_command("wait_for_services", *args)


@pytest.mark.django_db
def test_purge_notifications_deletes_only_old_ones():
    alice, bob = make_user("alice"), make_user("bob")
    old = [
        Notification.objects.create(recipient=alice, actor=bob, type="follow.created")
        for _ in range(7)
    ]
    Notification.objects.filter(id__in=[n.id for n in old]).update(
        created_at=timezone.now() - timezone.timedelta(days=40)
    )
    recent = Notification.objects.create(recipient=alice, actor=bob, type="follow.created")
    out = StringIO()
    call_command("purge_notifications", "--older-than", "30", "--dry-run", stdout=out)
    assert "7 notifications older than 30 days would be deleted" in out.getvalue()
    assert Notification.objects.count() == 8
    out = StringIO()
    call_command("purge_notifications", "--older-than", "30", "--batch-size", "3", stdout=out)
    assert list(Notification.objects.values_list("id", flat=True)) == [recent.id]
    assert "deleted 3/7" in out.getvalue() and "deleted 7/7" in out.getvalue()


@pytest.mark.parametrize(
    "args",
    [
        ["--older-than", "-1"],
        ["--older-than", "abc"],
        ["--older-than", "1000000"],
        ["--older-than", "99999999999"],
        ["--older-than", "3", "--batch-size", "0"],
        ["--older-than", "3", "--batch-size", "99999999999999999999"],
    ],
)
@pytest.mark.django_db
def test_purge_notifications_validates_its_options(args):
    with pytest.raises(CommandError):
        call_command("purge_notifications", *args)


@pytest.mark.django_db
def test_purge_notifications_accepts_ages_up_to_the_first_day_of_year_one():
    with pytest.raises(CommandError, match=r"^--older-than must be at most (\d+) days\.$") as error:
        call_command("purge_notifications", "--older-than", "1000000")
    oldest = error.value.args[0].split()[-2]
    out = StringIO()
    call_command("purge_notifications", "--older-than", oldest, stdout=out)
    assert f"0 notifications older than {oldest} days to delete." in out.getvalue()


def test_purge_notifications_refuses_a_huge_age_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "purge_notifications", "--older-than", "99999999999"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"CommandError: --older-than must be at most {result.stderr.split()[-2]} days."
    ]


def test_commands_have_help():
    for command in (
        "seed_demo",
        "fanout_worker",
        "wait_for_services",
        "purge_notifications",
        "serve",
    ):
        result = subprocess.run(
            [sys.executable, "manage.py", command, "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "usage:" in result.stdout
