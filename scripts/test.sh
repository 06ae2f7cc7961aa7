#!/usr/bin/env bash
# Runs every test with node's test runner. PostgreSQL tests need a server: TRAWL_TEST_PG_URL,
# or a throwaway local one started by scripts/pg-test-server.sh; without one they are skipped
# and this says so. The engine's differential tests need Debian's yara, the reference engine, and
# the web app's browser test Debian's chromium: installed here when missing and run as root.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v yara >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's yara (the reference engine of the differential tests)" >&2
    (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq yara >/dev/null) \
      || echo "NOTE: could not install yara: the differential tests will be SKIPPED" >&2
  else
    echo "NOTE: Debian's yara is missing: the differential tests will be SKIPPED (sudo apt-get install yara)" >&2
  fi
fi

# The web app's browser test drives Debian's Chromium (playwright-core downloads no browser).
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium (the web app's browser test)" >&2
    (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "NOTE: could not install chromium: the web app's browser test will be SKIPPED" >&2
  else
    echo "NOTE: Debian's chromium is missing: the web app's browser test will be SKIPPED (sudo apt-get install chromium)" >&2
  fi
fi

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
