"""WSGI entry point: the REST API under gunicorn in production."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_wsgi_app = get_wsgi_application()

from common.bodies import WSGIBodyLimit  # noqa: E402

application = WSGIBodyLimit(django_wsgi_app)
