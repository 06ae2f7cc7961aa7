#!/usr/bin/env bash
# Runs the three Trawl benchmarks one after another (build first: `make bench` does).
# Each starts its own server on a fresh temp data dir; see docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "date: $(date -u)  node: $(node -v)  cores: $(nproc)"
node dist/bench/upload-large.js
node dist/bench/upload-small.js
node dist/bench/get-file.js
