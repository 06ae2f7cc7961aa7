#!/usr/bin/env bash
# Runs every Trawl benchmark one after another (build first: `make bench` does). Each starts its
# own server on a fresh temp data dir; see docs/notes/benchmarks.md. The hunting benchmarks compare with
# Debian's yara, and the list benchmarks need wrk: both are installed here when missing (root).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v yara >/dev/null || need+=(yara)
command -v wrk >/dev/null || need+=(wrk)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
echo "date: $(date -u)  node: $(node -v)  cores: $(nproc)  yara: $(yara --version 2>/dev/null || echo missing)"
node dist/bench/upload-large.js
node dist/bench/upload-small.js
node dist/bench/submit-rate.js
node dist/bench/get-file.js
node dist/bench/hunting-throughput.js
node dist/bench/hunting-change.js
node dist/bench/notifications-list.js
# 1M files generated twice (SQLite, PostgreSQL), 16 kinds of Intelligence search: about 10 minutes.
node dist/bench/search.js
# 10M notifications generated twice (SQLite, PostgreSQL): about 40 minutes.
node dist/bench/ioc-stream.js
node dist/bench/extraction-throughput.js
node dist/bench/subfiles-zip.js
# The engine held to Debian's yara: 100,000 generated (rule, file) cases (about 5 minutes), then a
# public rule collection when one is at hand (BENCH_RULES_DIR=.../signature-base/yara).
node dist/bench/engine-differential.js 100000 1
if [ -n "${BENCH_RULES_DIR:-}" ]; then
  node dist/bench/rule-collection.js "$BENCH_RULES_DIR"
  node dist/bench/rewrite-cost.js "$BENCH_RULES_DIR" small
  node dist/bench/rewrite-cost.js "$BENCH_RULES_DIR" large
  node dist/bench/retrohunt-brute.js 3000
fi
node dist/bench/rewrite-cost.js generated small
node dist/bench/rewrite-cost.js generated large
# Scale-out (PostgreSQL: scripts/pg-test-server.sh's, or TRAWL_TEST_PG_URL's): worker processes
# side by side, intake to S3 (s3rver) against a folder, and 20 worker kills (about 10 minutes).
node dist/bench/scale-out-workers.js 3000
node dist/bench/intake-s3.js 3000 300
node dist/bench/worker-kills.js 20
