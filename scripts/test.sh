#!/usr/bin/env bash
# Runs every test with node's test runner. PostgreSQL tests need a server: TRAWL_TEST_PG_URL,
# or a throwaway local one started by scripts/pg-test-server.sh; without one they are skipped
# and this says so.
set -uo pipefail
cd "$(dirname "$0")/.."

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
