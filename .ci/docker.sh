#!/usr/bin/env bash
# The Docker image and docker-compose.yaml's app services, for real, as CI runs them:
#   1. Docker: installs what is missing (daemon, compose, debootstrap), starts a daemon if
#      none answers (host networking only: this machine allows no other).
#   2. The base image: pulled when the registry answers; else a stand-in for
#      python:3.11-slim is built from Debian's packages (.ci/python-standin.Dockerfile), once:
#      later runs on the same machine reuse it.
#   3. The project's image, built from the Dockerfile unchanged; its size is printed.
#   4. The compose services with .ci/compose.ci.yaml on top (host network, the machine's
#      PostgreSQL and RabbitMQ): migrate to completion, then api, ws and two workers, until
#      their health checks say healthy.
#   5. Against them, as a client: .ci/smoke.py (register, follow, a post reaching a websocket
#      through the ws and worker containers, /docs and its static files, an avatar upload
#      landing in the volume); then --scale worker=3; a crashed api restarted by its restart
#      policy; non-root and read-only root filesystem; `down` and `up` keep the data.
# Everything it started (containers, volumes, the daemon, the queue, the database) is
# stopped or removed at the end, whatever happens; any failed step fails the script.
#
#   bash .ci/docker.sh          (.ci/run calls it; needs root, PostgreSQL and RabbitMQ up)
# Environment: CI_DATABASE (prefix of this run's database and queue names), CI_POSTGRES
# (postgres://postgres@127.0.0.1:5432), RABBITMQ_URL (amqp://guest:guest@127.0.0.1:5672/;
# the queue is removed with the local rabbitmqctl), CI_PYTHON (.venv/bin/python, with the
# dev extras).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
step() { printf '\n--- docker: %s (%ss)\n' "$1" "$(( $(date +%s) - started ))"; }
fail() { echo "docker: $*" >&2; exit 1; }

# One run at a time on a machine: a run stops the daemon it started, which would pull it
# from under another run using it. A second run waits here (15 minutes at most).
exec 9>/tmp/warble-docker-ci.lock
flock -w 900 9 || fail "another run of .ci/docker.sh held the lock for 15 minutes"

PY=${CI_PYTHON:-.venv/bin/python}
PG_URL_BASE=${CI_POSTGRES:-postgres://postgres@127.0.0.1:5432}
RUN_NAME=${CI_DATABASE:-warble_ci}_docker
IMAGE=warble:ci
BASE_IMAGE=python:3.11-slim
STANDIN_ROOT=warble-ci/bookworm-minbase
work=$(mktemp -d /tmp/warble-docker.XXXXXX)

# The compose services of this run: a database and a queue of their own (the machine's
# PostgreSQL and RabbitMQ are shared with other runs), free ports, this image.
export CI_DOCKER_DATABASE=$RUN_NAME CI_POSTS_QUEUE=$RUN_NAME-posts WARBLE_IMAGE=$IMAGE
# The containers reach the same PostgreSQL and RabbitMQ as the rest of CI: the parts of
# CI_POSTGRES and RABBITMQ_URL, for .ci/compose.ci.yaml.
eval "$("$PY" - "$PG_URL_BASE" "${RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672/}" <<'PYTHON'
import shlex
import sys
from urllib.parse import unquote, urlparse

# (service, URL, default port, user and password: PostgreSQL's trust ignores the password)
services = (
    ("POSTGRES", sys.argv[1], 5432, "postgres", "unused-with-trust"),
    ("RABBITMQ", sys.argv[2], 5672, "guest", "guest"),
)
for prefix, url, port, user, password in services:
    parts = urlparse(url)
    values = {
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": parts.port or port,
        "USER": unquote(parts.username or "") or user,
        "PASSWORD": unquote(parts.password or "") or password,
    }
    for name, value in values.items():
        print(f"export CI_{prefix}_{name}={shlex.quote(str(value))}")
PYTHON
)"
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
SERVER_PORT=$(free_port)
CI_WS_PORT=$(free_port)
export SERVER_PORT CI_WS_PORT
API=http://127.0.0.1:$SERVER_PORT
WS=ws://127.0.0.1:$CI_WS_PORT
export COMPOSE_PROJECT_NAME=${RUN_NAME//_/-}
compose_files=(-f docker-compose.yaml -f .ci/compose.ci.yaml)

dockerd_pid=""
services_started=""
cleanup() {
  local status=$?
  set +e
  if [ "$status" -ne 0 ] && [ -n "$services_started" ]; then
    echo "docker: FAILED; the containers and their last log lines:" >&2
    "${compose[@]}" ps -a
    "${compose[@]}" logs --no-color --tail 60
  fi
  [ -n "${compose:-}" ] && "${compose[@]}" down --volumes --remove-orphans --timeout 10 >/dev/null 2>&1
  rabbitmqctl -q delete_queue "$CI_POSTS_QUEUE" >/dev/null 2>&1
  psql "$PG_URL_BASE/postgres" -qc "DROP DATABASE IF EXISTS $CI_DOCKER_DATABASE WITH (FORCE)" >/dev/null 2>&1
  if [ -n "$dockerd_pid" ]; then
    [ "$status" -ne 0 ] && tail -20 "$work/dockerd.log"
    # Only the daemon this script started; one that was already running is left alone.
    kill "$dockerd_pid" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 1; done
    kill -9 "$dockerd_pid" 2>/dev/null
    echo "docker: stopped the daemon this run started (pid $dockerd_pid)"
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
# Interrupted (CI's time limit, Ctrl-C): exit, so the cleanup above runs.
trap 'exit 130' INT TERM HUP

# Polls `condition` (a command) every second until it succeeds or `seconds` pass.
wait_until() {
  local seconds=$1 what=$2; shift 2
  for _ in $(seq "$seconds"); do "$@" && return 0; sleep 1; done
  fail "$what: not after ${seconds}s"
}

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}

step "tools"
# Prefer what is installed: a daemon binary, `docker compose` (v2) or docker-compose (v1).
command -v dockerd >/dev/null || apt_install docker.io
command -v docker >/dev/null || apt_install docker.io
if docker compose version >/dev/null 2>&1; then
  compose_cli=(docker compose)
else
  command -v docker-compose >/dev/null || apt_install docker-compose
  compose_cli=(docker-compose)
fi
"${compose_cli[@]}" version | sed -n 1p
# Host networking publishes no ports, and docker-compose v1 refuses a service that has both;
# an override file cannot remove the compose file's `ports`, so the services run from the
# merged configuration without them (everything else as docker-compose.yaml says).
"${compose_cli[@]}" "${compose_files[@]}" config >"$work/merged.yaml"
"$PY" - "$work/merged.yaml" <<'PYTHON'
import sys

import yaml

path = sys.argv[1]
with open(path) as file:
    config = yaml.safe_load(file)
for service in config["services"].values():
    if service.get("network_mode") == "host":
        service.pop("ports", None)
with open(path, "w") as file:
    yaml.safe_dump(config, file, sort_keys=False)
PYTHON
compose=("${compose_cli[@]}" -f "$work/merged.yaml" --project-directory "$PWD")

step "daemon"
if docker info >/dev/null 2>&1; then
  echo "a Docker daemon is running; using it"
else
  # No iptables and no bridge: containers get the host's network only, which is all this
  # machine allows (and all the CI override uses).
  # (Without the lock's descriptor: a daemon left behind must not keep the lock.)
  dockerd --iptables=false --bridge=none >"$work/dockerd.log" 2>&1 9>&- &
  dockerd_pid=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -30 "$work/dockerd.log" >&2; fail "dockerd did not start"; }
  echo "started dockerd (pid $dockerd_pid, log $work/dockerd.log)"
fi
docker version --format 'client {{.Client.Version}}, server {{.Server.Version}}'

# Builds use the host's network, and the same proxies as the host's package tools if any
# (HTTP_PROXY and friends are build arguments Docker knows without a declaration).
build_args=(--network host)
for name in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
  [ -n "${!name:-}" ] && build_args+=(--build-arg "$name=${!name}")
done
# The legacy builder when the CLI has no buildx plugin (Debian's docker.io has none).
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0

step "base image $BASE_IMAGE"
if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  if [ "$(docker image inspect -f '{{index .Config.Labels "org.warble.standin"}}' "$BASE_IMAGE")" = yes ]; then
    echo "present: the stand-in an earlier run built"
  else
    echo "present"
  fi
elif timeout 30 docker pull -q "$BASE_IMAGE" 2>"$work/pull.log"; then
  echo "pulled"
else
  echo "cannot be pulled ($(head -c 200 "$work/pull.log")); building a stand-in from Debian packages"
  if ! docker image inspect "$STANDIN_ROOT" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || apt_install debootstrap
    # The same Debian mirror as the host's apt (and its proxy, if it has one).
    mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 1p)
    mirror=${mirror:-http://deb.debian.org/debian}
    eval "$(apt-config shell http_proxy Acquire::http::Proxy)"
    export http_proxy=${http_proxy:-}
    debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
      || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap failed"; }
    cat >"$work/rootfs/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
EOF
    # Package caches and lists: the stand-in's own apt-get update fetches fresh lists.
    rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
    tar -C "$work/rootfs" -c . | docker import - "$STANDIN_ROOT" >/dev/null
    rm -rf "$work/rootfs"
  fi
  mkdir "$work/standin"
  cp "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$work/standin/ca-certificates.crt"
  docker build -q "${build_args[@]}" --label org.warble.standin=yes -t "$BASE_IMAGE" \
    -f .ci/python-standin.Dockerfile "$work/standin" >/dev/null
  echo "built the stand-in: $(docker image inspect -f '{{.Size}}' "$BASE_IMAGE" | numfmt --to=si --round=nearest)B"
fi

step "project image $IMAGE"
build_started=$(date +%s)
# pip inside the build uses the host's index when one is configured in the environment.
for name in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_TRUSTED_HOST; do
  [ -n "${!name:-}" ] && build_args+=(--build-arg "$name=${!name}")
done
docker build -q "${build_args[@]}" --label org.warble.ci=yes -t "$IMAGE" . >/dev/null
# The images earlier runs built and this one replaced; nothing else on the daemon.
docker image prune -f --filter label=org.warble.ci=yes >/dev/null
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
base_size=$(docker image inspect -f '{{.Size}}' "$BASE_IMAGE")
echo "built in $(( $(date +%s) - build_started ))s: $(numfmt --to=si --round=nearest "$size")B" \
  "($(numfmt --to=si --round=nearest $(( size - base_size )))B over the base)"

step "compose services: migrate, then api, ws and 2 workers"
psql "$PG_URL_BASE/postgres" -qc "DROP DATABASE IF EXISTS $CI_DOCKER_DATABASE WITH (FORCE)"
psql "$PG_URL_BASE/postgres" -qc "CREATE DATABASE $CI_DOCKER_DATABASE"
rabbitmqctl -q delete_queue "$CI_POSTS_QUEUE" >/dev/null 2>&1 || true

container_of() { "${compose[@]}" ps -q "$1" | sed -n 1p; }
health_of() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$1"; }
healthy() {
  local service id
  for service in "$@"; do
    for id in $("${compose[@]}" ps -q "$service"); do
      [ "$(health_of "$id")" = healthy ] || return 1
    done
  done
}
# N worker containers running, and N consumers on this run's posts queue: the workers have
# no health check, their connection to the broker says they work.
workers_running() {
  local want=$1 ids
  ids=$("${compose[@]}" ps -q worker)
  [ "$(echo "$ids" | grep -c .)" -eq "$want" ] || return 1
  for id in $ids; do [ "$(docker inspect -f '{{.State.Running}}' "$id")" = true ] || return 1; done
  [ "$(rabbitmqctl -q list_queues name consumers | awk -v q="$CI_POSTS_QUEUE" '$1 == q { print $2 }')" = "$want" ]
}
up() {
  services_started=yes
  # The compose file's postgres and rabbitmq are not started (the machine's are used), so
  # the services come up with --no-deps, in the order their depends_on gives.
  "${compose[@]}" up -d --no-deps --no-build migrate
  local migrate_id code
  migrate_id=$(container_of migrate)
  code=$(timeout 180 docker wait "$migrate_id") || fail "migrate did not finish in 180s"
  [ "$code" -eq 0 ] || fail "migrate exited with $code"
  echo "migrate completed"
  "${compose[@]}" up -d --no-deps --no-build --scale worker=2 api ws worker
  wait_until 120 "api and ws healthy" healthy api ws
  wait_until 60 "two workers running and consuming" workers_running 2
  echo "api and ws healthy, 2 workers running and consuming the posts queue"
}
up_started=$(date +%s)
up
echo "up in $(( $(date +%s) - up_started ))s"

step "as a user: smoke flow, /docs, an avatar"
"$PY" .ci/smoke.py --api "$API" --ws "$WS" --docs --avatar --save "$work/made.json"
# The upload is a file in the appdata volume, as seen from the host.
avatar_path=$("$PY" -c 'import json, sys, urllib.parse; print(urllib.parse.urlparse(json.load(open(sys.argv[1]))["avatar_url"]).path.removeprefix("/media/"))' "$work/made.json")
volume=$(docker volume inspect -f '{{.Mountpoint}}' "${COMPOSE_PROJECT_NAME}_appdata")
[ -s "$volume/media/$avatar_path" ] || fail "the avatar is not in the appdata volume: $volume/media/$avatar_path"
echo "ok: the avatar is in the appdata volume (media/$avatar_path)"

step "non-root, read-only root filesystem"
api_id=$(container_of api)
[ "$(docker inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$api_id")" = true ] || fail "the root filesystem is writable"
uid=$(docker exec "$api_id" id -u)
[ "$uid" != 0 ] || fail "the api runs as root"
for service in api ws worker; do
  [ "$(docker exec "$(container_of "$service")" id -u)" != 0 ] || fail "$service runs as root"
done
if docker exec "$api_id" sh -c 'touch /app/written-at-run-time' 2>/dev/null; then
  fail "the image's files are writable at run time"
fi
docker exec "$api_id" sh -c 'touch /app/var/.probe /tmp/.probe && rm /app/var/.probe /tmp/.probe' \
  || fail "the volume or /tmp is not writable"
echo "ok: uid $uid, read-only root; /app/var (volume) and /tmp (tmpfs) writable"

step "--scale worker=3"
"${compose[@]}" up -d --no-deps --no-build --scale worker=3 worker
wait_until 60 "three workers running and consuming" workers_running 3
echo "ok: 3 workers consume the posts queue"
"$PY" .ci/smoke.py --api "$API" --ws "$WS"

step "a crashed api comes back by its restart policy"
before=$(docker inspect -f '{{.RestartCount}}' "$api_id")
# SIGKILL to the container's main process from outside: a crash, not a `docker stop` (which
# the unless-stopped policy honours by staying down).
kill -9 "$(docker inspect -f '{{.State.Pid}}' "$api_id")"
restarted() { [ "$(docker inspect -f '{{.RestartCount}}' "$api_id")" -gt "$before" ]; }
wait_until 60 "the api restarted" restarted
wait_until 90 "the restarted api healthy" healthy api
echo "ok: restarted (restart count $(docker inspect -f '{{.RestartCount}}' "$api_id")) and healthy"
"$PY" .ci/smoke.py --api "$API" --ws "$WS"

step "down, then up again: the data stays"
"${compose[@]}" down --timeout 20
[ -z "$("${compose[@]}" ps -q)" ] || fail "containers left after down"
up
"$PY" .ci/smoke.py --api "$API" --check-saved "$work/made.json"

step "done in $(( $(date +%s) - started ))s"
