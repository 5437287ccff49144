"""Settings for benchmark servers: the product's, plus a trivial baseline endpoint."""

import os

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# The yardsticks under /bench/ are served as the API's endpoints are. (An earlier checkout
# measured in-process by bench/read_instructions.py reads this file with its own settings,
# which may have no API_PATH_PREFIXES.)
API_PATH_PREFIXES = [*globals().get("API_PATH_PREFIXES", ["/api/"]), "/bench/"]

# bench/sessions.py serves the same data with and without the session check.
if os.environ.get("BENCH_SESSION_CHECK", "on") == "off":
    REST_FRAMEWORK = {
        **REST_FRAMEWORK,  # noqa: F405
        "DEFAULT_AUTHENTICATION_CLASSES": ["bench.auth.UncheckedJWTAuthentication"],
    }
