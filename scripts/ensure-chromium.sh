#!/usr/bin/env bash
# The browser tests drive Debian's chromium (Playwright's own browser download cannot work offline).
# Install it when missing and we may; otherwise say so: those tests then skip (CI=true makes them fail).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's chromium for the browser tests..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "Note: /usr/bin/chromium is missing and cannot be installed here (needs root + apt-get);" \
       "browser tests will be skipped. Install it with: sudo apt-get install chromium" >&2
fi
