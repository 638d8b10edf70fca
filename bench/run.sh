#!/bin/sh
# Runs the taskrelay benchmark (docs/benchmarks.md): installs the tools it
# needs, builds, and runs bench/run_bench.py with the given options, e.g.
#   bench/run.sh --runs 3
set -eu
cd "$(dirname "$0")/.."

missing=""
command -v wrk >/dev/null || missing="$missing wrk"
command -v redis-server >/dev/null || missing="$missing redis-server"
command -v sqlite3 >/dev/null || missing="$missing sqlite3"
command -v node >/dev/null || missing="$missing nodejs npm"
if [ -n "$missing" ]; then
    echo "bench: installing$missing" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
if [ ! -d bench/peer/node_modules/bullmq ]; then
    (cd bench/peer && npm ci --no-audit --no-fund)
fi

cmake -S . -B build -G Ninja >/dev/null
cmake --build build
exec python3 bench/run_bench.py --build-dir build "$@"
