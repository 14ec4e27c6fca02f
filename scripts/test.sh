#!/usr/bin/env bash
# The whole test suite, with lint: sets everything up first (the virtualenv with the
# project and its tools, then Apache Storm, Leiningen and a JDK for the topology tests).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/install-storm.sh
# shellcheck source=/dev/null
. .tools/env.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
