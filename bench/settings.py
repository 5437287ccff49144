"""Settings for benchmark servers: the product's, plus a trivial baseline endpoint."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
