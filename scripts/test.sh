#!/usr/bin/env bash
# Runs every test with node's test runner. PostgreSQL tests need a server: TRAWL_TEST_PG_URL,
# or a throwaway local one started by scripts/pg-test-server.sh; without one they are skipped
# and this says so. The engine's differential tests need Debian's yara, the reference engine, and
# the web app's browser test Debian's chromium: installed here when missing and run as root.
set -uo pipefail
cd "$(dirname "$0")/.."

# A Debian package some tests need: installed when missing (as root), else those tests skip.
need_package() { # command package what-needs-it
  command -v "$1" >/dev/null && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's $2 ($3)" >&2
    (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null) \
      || echo "NOTE: could not install $2: $3 will be SKIPPED" >&2
  else
    echo "NOTE: Debian's $2 is missing: $3 will be SKIPPED (sudo apt-get install $2)" >&2
  fi
}
need_package yara yara "the engine's differential tests (yara is their reference engine)"
# playwright-core downloads no browser: the test drives Debian's.
need_package chromium chromium "the web app's browser test"

if [ -z "${TRAWL_TEST_PG_URL:-}" ]; then
  args=()
  [ -n "${CI:-}" ] && args+=(--install)
  if url=$(bash scripts/pg-test-server.sh "${args[@]}"); then
    export TRAWL_TEST_PG_URL="$url"
  else
    echo "NOTE: PostgreSQL not available: PostgreSQL tests will be SKIPPED (set TRAWL_TEST_PG_URL or install postgresql)" >&2
  fi
fi
[ -n "${TRAWL_TEST_PG_URL:-}" ] && echo "PostgreSQL tests use ${TRAWL_TEST_PG_URL}" >&2

node --test --test-concurrency=2 --test-timeout=300000 dist/test/*.test.js
