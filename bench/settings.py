"""Settings for benchmark servers: the product's, plus a trivial baseline endpoint."""

import os

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# The yardsticks under /bench/ are served as the API's endpoints are.
API_PATH_PREFIXES = [*API_PATH_PREFIXES, "/bench/"]  # noqa: F405

# bench/sessions.py serves the same data with and without the session check.
if os.environ.get("BENCH_SESSION_CHECK", "on") == "off":
    REST_FRAMEWORK = {
        **REST_FRAMEWORK,  # noqa: F405
        "DEFAULT_AUTHENTICATION_CLASSES": ["bench.auth.UncheckedJWTAuthentication"],
    }
