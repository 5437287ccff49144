import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_with_env(args: list[str], tmp_path, **env) -> subprocess.CompletedProcess:
    """Run a Python command in the project with only the given variables set."""
    clean = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **env,
    }
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, check=False
    )


def variables_read_by_settings() -> set[str]:
    source = (ROOT / "config" / "settings.py").read_text()
    return set(re.findall(r'env(?:\.\w+)?\("([A-Z][A-Z0-9_]+)"', source))


def test_every_variable_is_documented_in_the_readme_and_env_example():
    names = variables_read_by_settings()
    assert len(names) > 30
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".env.example").read_text()
    assert not {n for n in names if f"`{n}`" not in readme}
    assert not {n for n in names if not re.search(rf"^#? ?{n}=", example, re.M)}


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"DEBUG": "", "DATABASE_URL": "", "RABBITMQ_URL": "", "SECRET_KEY": ""},
    ],
)
def test_settings_load_with_nothing_configured(env, tmp_path):
    """Unset or empty variables mean the embedded default, never a crash."""
    result = run_with_env(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.DEBUG, s.DATABASES['default']['ENGINE'], "
            "s.CHANNEL_LAYERS['default']['BACKEND'], s.STORAGES['default']['BACKEND'])",
        ],
        tmp_path,
        **env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "django.core.files.storage.FileSystemStorage",
    ]


def test_production_settings_pass_the_deploy_checks(tmp_path):
    deploy_check = ["manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    production = {"HTTPS": "true", "ALLOWED_HOSTS": "social.example.com"}
    secret = "x7#k2Lq9!vB4mN8pR1sT6wY3zA5cE0gH2jK4lM6nP8qR0sT2uV"
    result = run_with_env(deploy_check, tmp_path, SECRET_KEY=secret, **production)
    assert result.returncode == 0, result.stdout + result.stderr
    # Without a SECRET_KEY of its own a deployment is warned.
    result = run_with_env(deploy_check, tmp_path, **production)
    assert result.returncode != 0
    assert "common.W001" in result.stdout + result.stderr


@pytest.mark.parametrize("name", ["TIMELINE_TRIM_EVERY", "FANOUT_BATCH_SIZE", "TIMELINE_CAP"])
def test_limits_below_one_fail_the_system_checks(name, tmp_path):
    result = run_with_env(["manage.py", "check"], tmp_path, **{name: "0"})
    assert result.returncode != 0
    assert f"{name} must be at least 1" in result.stderr


def test_database_and_broker_urls_made_from_parts_take_any_password(tmp_path):
    """docker compose passes hosts, users and passwords apart; a password with URL syntax in
    it (`/`, `:`, `@`, `%`) must reach the database and the broker as it is."""
    password = "ab/c:d@e%f#g?"
    result = run_with_env(
        [
            "-c",
            "import django, yarl; django.setup(); from django.conf import settings as s; "
            "d = s.DATABASES['default']; b = yarl.URL(s.RABBITMQ_URL); "
            "print(repr((d['HOST'], d['PORT'], d['USER'], d['PASSWORD'], d['NAME'])), "
            "repr((b.host, b.port, b.user, b.password, b.path)))",
        ],
        tmp_path,
        POSTGRES_HOST="db.internal",
        POSTGRES_USER="warble",
        POSTGRES_PASSWORD=password,
        POSTGRES_DB="social",
        RABBITMQ_HOST="mq.internal",
        RABBITMQ_DEFAULT_USER="rabbit",
        RABBITMQ_DEFAULT_PASS=password,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == (
        f"{('db.internal', 5432, 'warble', password, 'social')!r} "
        f"{('mq.internal', 5672, 'rabbit', password, '/')!r}"
    )


def test_urls_win_over_parts(tmp_path):
    result = run_with_env(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.DATABASES['default']['HOST'], s.RABBITMQ_URL)",
        ],
        tmp_path,
        POSTGRES_HOST="db.internal",
        DATABASE_URL="postgres://u:p@elsewhere:5432/x",
        RABBITMQ_HOST="mq.internal",
        RABBITMQ_URL="amqp://u:p@broker.elsewhere:5672/",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["elsewhere", "amqp://u:p@broker.elsewhere:5672"]


def test_docker_compose_passes_every_variable_to_the_app_services():
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    environment = compose["x-app"]["environment"]
    # Paths inside the image are fixed; the listening address is set per service.
    # The URLs are made from their parts (so passwords need no encoding).
    fixed = {"MEDIA_ROOT", "STATIC_ROOT", "SERVER_ADDRESS", "DATABASE_URL", "RABBITMQ_URL"}
    fixed |= {"POSTGRES_PORT", "RABBITMQ_PORT"}  # the services' standard ports
    assert not variables_read_by_settings() - fixed - set(environment)
    assert "SERVER_ADDRESS" in compose["services"]["api"]["environment"]
    assert {"POSTGRES_HOST", "RABBITMQ_HOST"} <= set(environment)
