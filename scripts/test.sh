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
# The tests run in a private network namespace when this machine allows one: Storm's
# daemons bind every interface (Storm has no setting for it), and there only loopback
# exists. SHOOT2TOP_NETNS=0 runs them in the machine's own network.
if [ "${SHOOT2TOP_NETNS:-1}" = 1 ] && command -v ip >/dev/null \
    && unshare --net true 2>/dev/null; then
  echo "test: running pytest in a private network namespace (loopback only)" >&2
  exec unshare --net bash -c 'ip link set lo up && exec .venv/bin/python -m pytest "$@"' \
    pytest "$@"
fi
.venv/bin/python -m pytest "$@"
