#!/usr/bin/env bash
# Set-up and everyday commands. On a fresh machine with Python 3.11+:
#   ./dev.sh run     install what is needed, apply migrations, serve on http://127.0.0.1:8000
#   ./dev.sh test    install what is needed and run the whole test suite
# Anything after `test` goes to pytest (./dev.sh test -k feed); PYTHON picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

install() {
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11" >&2
    exit 1
  fi
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  # Reinstall only when the dependencies changed.
  local stamp
  stamp="$VENV/.installed-$("$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(open("pyproject.toml","rb").read()).hexdigest()[:16])')"
  if [ ! -f "$stamp" ]; then
    echo "Installing dependencies into $VENV ..." >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]"
    rm -f "$VENV"/.installed-*
    touch "$stamp"
  fi
}

case "${1:-}" in
  run)
    shift
    install
    exec "$VENV/bin/python" manage.py serve "$@"
    ;;
  test)
    shift
    install
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: ./dev.sh run | ./dev.sh test [pytest arguments]" >&2
    exit 2
    ;;
esac
