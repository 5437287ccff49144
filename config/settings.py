"""Settings for the whole project, read from the environment and an optional `.env` file.

Every variable has a default that gives the embedded mode (SQLite, in-memory channel layer,
local media), so an unset variable never stops the service from starting. The README lists
every variable with its default.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import environ
from django.core.management.utils import get_random_secret_key

from common.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


class Env(environ.Env):
    """environ.Env where an empty variable counts as unset (docker compose passes `${X:-}`)."""

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        if self.ENVIRON.get(f"{self.prefix}{var}") == "" and default is not self.NOTSET:
            if parse_default and default is not None:
                return self.parse_value(default, cast)
            return default
        return super().get_value(var, cast, default, parse_default)


env = Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")


def _local_secret(name: str) -> str:
    """A random secret kept under var/ so the embedded mode survives restarts without setup."""
    path = VAR_DIR / name
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(get_random_secret_key())
        path.chmod(0o600)
    return path.read_text().strip()


# --- Core -------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY_FROM_ENV = bool(env.str("SECRET_KEY", default=""))
SECRET_KEY = env.str("SECRET_KEY", default="") or _local_secret("secret_key")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
SERVER_ADDRESS = env.str("SERVER_ADDRESS", default="127.0.0.1")
SERVER_PORT = env.int("SERVER_PORT", default=8000)
# Where clients reach the service; makes media URLs absolute when no request is at hand
# (websocket events built by the fan-out worker).
PUBLIC_URL = env.str("PUBLIC_URL", default=f"http://localhost:{SERVER_PORT}").rstrip("/")

# HTTPS=true when TLS terminates in front of the service (a proxy or load balancer that sets
# X-Forwarded-Proto): redirects, HSTS and secure cookies follow.
HTTPS = env.bool("HTTPS", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "common",
    "accounts",
    "posts",
    "follows",
    "notifications",
    "moderation",
    "django_htmx",
    "web",
]

MIDDLEWARE = [
    "common.health.HealthMiddleware",
    "common.logging.RequestLogMiddleware",
    "common.availability.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "common.middleware.SessionMiddleware",
    "common.middleware.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.sessions.AuthenticationMiddleware",
    "common.middleware.MessageMiddleware",
    "common.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The token-authenticated API: browsers' middleware (sessions, their sign-in, messages,
# htmx) lets its requests through untouched (`common.middleware.BrowserOnly`).
API_PATH_PREFIXES = ["/api/"]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.context.links",
                "web.context.resolved",
            ],
        },
    },
]


# --- Database ----------------------------------------------------------------------------
def service_url(
    url: str, *, scheme: str, host: str, port: int, user: str, password: str, path: str = ""
) -> str:
    """`url` when set; else, when `host` is, a URL made from the parts, percent-encoded:
    docker compose passes the parts (`POSTGRES_HOST`, `POSTGRES_PASSWORD`, ...), so
    passwords may hold any character; else empty."""
    if url or not host:
        return url
    user, password, path = (quote(part, safe="") for part in (user, password, path))
    return f"{scheme}://{user}:{password}@{host}:{port}/{path}"


DATABASE_URL = (
    service_url(
        env.str("DATABASE_URL", default=""),
        scheme="postgres",
        host=env.str("POSTGRES_HOST", default=""),
        port=env.int("POSTGRES_PORT", default=5432),
        user=env.str("POSTGRES_USER", default="warble"),
        password=env.str("POSTGRES_PASSWORD", default="warble"),
        path=env.str("POSTGRES_DB", default="warble"),
    )
    or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
)
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite builds indexes without their INCLUDE columns, which only PostgreSQL's reads
    # use (notifications' inbox index, for the late check that SQLite does not need).
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Behind a pooler in transaction mode (PgBouncer), consecutive transactions of one
    # connection may run on different server connections: nothing may outlive a transaction
    # (prepared statements, server-side cursors, session locks; the advisory locks here are
    # transaction-scoped already).
    TRANSACTION_POOLING = env.bool("DATABASE_TRANSACTION_POOLING", default=False)
    # Django's psycopg 3 connection pool: opening a connection per request costs ~40% of
    # throughput, and the pool also serves the threads of the ASGI server and the worker.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Django's backend with a pool that replaces every connection a restarted or failed-over
    # server took with it as soon as one of them fails its check (common/postgresql).
    DATABASES["default"]["ENGINE"] = "common.postgresql"
    # Each connection is checked as it leaves the pool (`check_idle`: its socket, and one
    # empty query when the server wrote to it), so one that died with a restarted or
    # failed-over server is replaced instead of failing a request (docs/resilience.md).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_HEALTH_CHECKS", default=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "pool": {
                "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
                "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
                # While the database is unreachable a request waits this long for a
                # connection, then answers 503: short, so an outage is answered quickly.
                "timeout": env.float("DATABASE_POOL_TIMEOUT", default=1.0),
                # How long the pool retries a failed connection in the background, with
                # pauses of 1, 2, 4 s ... 0: it retries once at once and gives up, and the
                # next request that finds no connection starts a new attempt itself. So a
                # request sent after the database answers again never waits for an attempt
                # sleeping out a pause the outage began (docs/resilience.md).
                "reconnect_timeout": env.float("DATABASE_RECONNECT_TIMEOUT", default=0.0),
            },
            # Parameters bound by the server let psycopg prepare the statements a connection
            # runs again and again (the feed, the auth lookup), so they are planned once.
            # PgBouncer 1.18 (Debian's) forgets prepared statements between transactions.
            "server_side_binding": not TRANSACTION_POOLING,
            "prepare_threshold": (
                None if TRANSACTION_POOLING else env.int("DATABASE_PREPARE_THRESHOLD", default=5)
            ),
        }
    )
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = TRANSACTION_POOLING
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets readers and the one writer work side by side; IMMEDIATE transactions make
    # concurrent writers wait for the lock instead of failing half-way.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not memory, so that processes started by end-to-end tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# --- Auth --------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# The web client's sessions: Django's database sessions whose row carries the account, read
# together with it in one statement per request (accounts/sessions.py).
SESSION_ENGINE = "accounts.sessions"
AUTHENTICATION_BACKENDS = ["accounts.sessions.SessionAccountBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

JWT_SECRET_KEY = env.str("JWT_SECRET_KEY", default="") or SECRET_KEY
JWT_ISSUER = env.str("JWT_ISSUER", default="warble")
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_LIFETIME", default=3600)),
    "REFRESH_TOKEN_LIFETIME": timedelta(
        seconds=env.int("JWT_REFRESH_LIFETIME", default=14 * 24 * 3600)
    ),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SECRET_KEY,
    "ISSUER": JWT_ISSUER,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "TOKEN_REFRESH_SERIALIZER": "accounts.serializers.TokenRefreshSerializer",
}

# The web client signs in with a session (the API keeps its JWTs).
LOGIN_URL = "web:signin"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "web:signin"

# --- REST API ----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["common.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "common.negotiation.ContentNegotiation",
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "common.schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "common.pagination.CursorPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "common.exceptions.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("THROTTLE_LOGIN_RATE", default="10/min"),
        "register": env.str("THROTTLE_REGISTER_RATE", default="20/hour"),
        "post": env.str("THROTTLE_POST_RATE", default="60/min"),
        "like": env.str("THROTTLE_LIKE_RATE", default="300/hour"),
        "repost": env.str("THROTTLE_REPOST_RATE", default="300/hour"),
        "password_change": env.str("THROTTLE_PASSWORD_CHANGE_RATE", default="5/hour"),
        "follow": env.str("THROTTLE_FOLLOW_RATE", default="400/day"),
        "block": env.str("THROTTLE_BLOCK_RATE", default="100/hour"),
        "report": env.str("THROTTLE_REPORT_RATE", default="30/hour"),
    },
    # How many proxies sit in front of the service: throttling keys clients by their address.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=None),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Warble API",
    "DESCRIPTION": (BASE_DIR / "docs" / "api-intro.md").read_text(),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
    "ENUM_NAME_OVERRIDES": {"NotificationTypeEnum": "notifications.models.Notification.Type"},
}

# --- Product limits ----------------------------------------------------------------------
POST_MAX_LENGTH = env.int("POST_MAX_LENGTH", default=280)
TIMELINE_CAP = env.int("TIMELINE_CAP", default=800)
FOLLOW_BACKFILL = env.int("FOLLOW_BACKFILL", default=100)
# Each timeline is trimmed back to TIMELINE_CAP on about one in TIMELINE_TRIM_EVERY posts
# it receives, so trimming is batched and stays off the request path.
TIMELINE_TRIM_EVERY = env.int("TIMELINE_TRIM_EVERY", default=100)
FANOUT_BATCH_SIZE = env.int("FANOUT_BATCH_SIZE", default=1000)
# Fan-out transactions written at once for one post (each uses its own connection).
FANOUT_WRITERS = env.int("FANOUT_WRITERS", default=2)
# Deliveries of one message before the worker gives up on it (a database outage longer
# than the backoff adds up to: about 10 minutes at 20).
FANOUT_MAX_ATTEMPTS = env.int("FANOUT_MAX_ATTEMPTS", default=20)
IDEMPOTENCY_WINDOW = timedelta(hours=24)
# Trending tags are recounted at most once per this many seconds (per cache).
TRENDING_CACHE_SECONDS = env.int("TRENDING_CACHE_SECONDS", default=60)
AVATAR_MAX_BYTES = env.int("AVATAR_MAX_BYTES", default=5 * 1024 * 1024)
AVATAR_MAX_PIXELS = env.int("AVATAR_MAX_PIXELS", default=40_000_000)
AVATAR_SIZE = env.int("AVATAR_SIZE", default=400)

# --- Realtime and fan-out ----------------------------------------------------------------
RABBITMQ_URL = service_url(
    env.str("RABBITMQ_URL", default=""),
    scheme="amqp",
    host=env.str("RABBITMQ_HOST", default=""),
    port=env.int("RABBITMQ_PORT", default=5672),
    user=env.str("RABBITMQ_DEFAULT_USER", default="warble"),
    password=env.str("RABBITMQ_DEFAULT_PASS", default="warble"),
).rstrip("/")
POSTS_QUEUE = env.str("POSTS_QUEUE", default="posts")
CHANNEL_LAYER_EXCHANGE = env.str("CHANNEL_LAYER_EXCHANGE", default="warble.groups")
PUBLISH_TIMEOUT = env.float("PUBLISH_TIMEOUT", default=2.0)
BROKER_RETRY_INTERVAL = env.float("BROKER_RETRY_INTERVAL", default=1.0)
# Run fan-out synchronously in the committing thread: the test suite sets it.
FANOUT_EAGER = False
WEBSOCKET_ALLOWED_ORIGINS = env.list("WEBSOCKET_ALLOWED_ORIGINS", default=[])
if RABBITMQ_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "notifications.layers.RabbitmqChannelLayer",
            "CONFIG": {
                "host": RABBITMQ_URL,
                "groups_exchange": CHANNEL_LAYER_EXCHANGE,
                # A burst of fan-out sends must not be dropped (see docs/architecture.md).
                "local_capacity": env.int("CHANNEL_LOCAL_CAPACITY", default=10_000),
                "remote_capacity": env.int("CHANNEL_REMOTE_CAPACITY", default=10_000),
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            # The live group is joined once per process and must not expire (the default
            # drops members after a day).
            "CONFIG": {"capacity": 10_000, "expiry": 60, "group_expiry": 10 * 365 * 86400},
        }
    }

# --- Static and media --------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
# Media (avatars): Cloudinary when configured, else an S3-compatible bucket when named, else
# local files under MEDIA_ROOT, served by the app itself.
CLOUDINARY_URL = env.str("CLOUDINARY_URL", default="")
CLOUDINARY_CLOUD_NAME = env.str("CLOUDINARY_CLOUD_NAME", default="")
CLOUDINARY_API_KEY = env.str("CLOUDINARY_API_KEY", default="")
CLOUDINARY_API_SECRET = env.str("CLOUDINARY_API_SECRET", default="")
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if CLOUDINARY_URL or (CLOUDINARY_CLOUD_NAME and CLOUDINARY_API_KEY and CLOUDINARY_API_SECRET):
    MEDIA_STORAGE = {
        "BACKEND": "accounts.storage.CloudinaryStorage",
        "OPTIONS": {
            "url": CLOUDINARY_URL,
            "cloud_name": CLOUDINARY_CLOUD_NAME,
            "api_key": CLOUDINARY_API_KEY,
            "api_secret": CLOUDINARY_API_SECRET,
        },
    }
elif AWS_STORAGE_BUCKET_NAME:
    MEDIA_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            "custom_domain": env.str("AWS_S3_CUSTOM_DOMAIN", default="") or None,
            # Signed URLs work with a private bucket; set false for a public one or a CDN.
            "querystring_auth": env.bool("AWS_QUERYSTRING_AUTH", default=True),
            "querystring_expire": env.int("AWS_QUERYSTRING_EXPIRE", default=86400),
            "file_overwrite": False,
        },
    }
else:
    MEDIA_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": MEDIA_STORAGE,
    "staticfiles": {"BACKEND": "common.staticfiles.StaticFilesStorage"},
}

# --- Internationalisation ----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging -----------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOGGING = logging_config(
    LOG_LEVEL,
    LOG_FORMAT,
    {
        # Requests are logged once by common.logging; Django's own 4xx lines would repeat them.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "ERROR"},
        # uvicorn's own handlers would print websocket paths with their tokens: its lines go
        # through ours (redacted, and JSON when asked for).
        "uvicorn": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "uvicorn.access": {"handlers": [], "propagate": False},
    },
)
