#!/usr/bin/env bash
# Idempotent: Debian's Chromium, which the dashboard's tests drive with Playwright
# (tests/browser.py: /usr/bin/chromium, headless). Playwright's own browser builds are
# never downloaded (`playwright install` is not used).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "install-browser: installing Debian's chromium" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "install-browser: /usr/bin/chromium is missing: sudo apt-get install chromium" >&2
  exit 1
fi
