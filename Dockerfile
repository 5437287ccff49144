# One image for every role: the REST API (gunicorn), the websocket server (uvicorn), the
# fan-out worker and the one-shot migrate job. See docker-compose.yaml.

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
# A package index other than PyPI, when the machine building the image uses one.
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_TRUSTED_HOST
# Dependencies first, so code changes reuse this layer (and README edits too: the package
# metadata only needs the file to exist). Every dependency ships wheels: no compiler is
# needed here either.
COPY pyproject.toml ./
# Then what the runtime never uses goes (docs/deployment.md has the sizes): pip and
# setuptools, and the test suites that packages ship (django/test stays: it is Django's
# testing API, not a suite). Compiled .pyc files stay: without them, on the read-only root
# filesystem, every process would compile its imports again at each start (about 1 s more).
RUN touch README.md && python -m venv /venv && /venv/bin/pip install . \
    && /venv/bin/pip uninstall --yes pip setuptools \
    && find /venv/lib -depth -type d \( -name tests -o -name test \) -not -path '*/django/test' \
       -exec rm -rf {} + \
    && rm -rf build *.egg-info README.md
COPY . .
RUN SECRET_KEY=collectstatic-only /venv/bin/python manage.py collectstatic --noinput -v0 \
    && rm -rf var .env

FROM python:3.11-slim AS runtime
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    SERVER_ADDRESS=0.0.0.0 SERVER_PORT=8000
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin warble
COPY --from=build /venv /venv
COPY --from=build --chown=root:root /app /app
# var/ holds local media and the generated key when SECRET_KEY is unset (a volume).
RUN mkdir -p /app/var && chown warble /app/var
WORKDIR /app
USER warble
EXPOSE 8000 8001
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"HEALTH_PORT\", \"8000\")}/healthz', timeout=2)"
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
