#!/usr/bin/env bash
# The whole test suite, with lint: sets everything up first (the virtualenv with the
# project and its tools, then Apache Storm, Leiningen, a JDK and every JVM artifact the
# topology builds need, all inside the checkout, and Debian's Chromium for the
# dashboard's browser tests). Extra arguments go to pytest, e.g.
#   scripts/test.sh -m "not slow"     the fast loop (under a minute)
#   scripts/test.sh -k lake
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/install-browser.sh
# The Storm toolchain's check (a JVM start and every promised file, 2 s when all is in
# place) runs beside the lint, which needs only the virtualenv; it fails the run as
# before, and a failed lint still waits for it rather than leaving it running.
scripts/install-storm.sh &
storm_install=$!
trap 'wait' EXIT
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy  # settings and files: [tool.mypy] in pyproject.toml
wait "$storm_install"
trap - EXIT
# pytest starts from a clean environment: nothing the caller's shell exported (a DSN,
# AWS credentials, a Storm config, a `weed` on PATH) changes what the tests see; the
# only settings are the tools' own (.tools/env.sh).
clean_env=(env -i "HOME=$HOME" "USER=${USER:-$(id -un)}" "LANG=C.UTF-8" "TERM=${TERM:-dumb}"
    "TMPDIR=${TMPDIR:-/tmp}" "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
# A temp root of this checkout's own: pytest prunes old runs in its shared default root,
# which would delete the directories of a run in another checkout on this machine.
basetemp="${TMPDIR:-/tmp}/shoot2top-pytest-$(pwd -P | sha256sum | cut -c1-8)"
run_pytest=". .tools/env.sh && exec .venv/bin/python -m pytest --basetemp=$basetemp \"\$@\""
# The tests run in a private network namespace when this machine allows one: Storm's
# daemons bind every interface (Storm has no setting for it), and there only loopback
# exists. SHOOT2TOP_NETNS=0 runs them in the machine's own network.
if [ "${SHOOT2TOP_NETNS:-1}" = 1 ] && command -v ip >/dev/null \
    && unshare --net true 2>/dev/null; then
  echo "test: running pytest in a private network namespace (loopback only)" >&2
  exec unshare --net "${clean_env[@]}" bash -c "ip link set lo up && $run_pytest" pytest "$@"
fi
exec "${clean_env[@]}" bash -c "$run_pytest" pytest "$@"
