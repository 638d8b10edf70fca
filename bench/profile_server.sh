#!/bin/sh
# Profiles the server with perf during one lifecycle throughput run (16
# simulated workers x 4 slots) and prints the top costs, by symbol and with
# call chains. Usage: bench/profile_server.sh [TASKS], once build/ is built
# (bench/run.sh or cmake).
set -eu
cd "$(dirname "$0")/.."
tasks="${1:-3000}"
work="$(mktemp -d /tmp/taskrelay-profile-XXXXXX)"
TASKRELAY_API_TOKEN="$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
TASKRELAY_WORKER_TOKEN="$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
export TASKRELAY_API_TOKEN TASKRELAY_WORKER_TOKEN

build/taskrelay server --listen 127.0.0.1:0 --port-file "$work/port" --db "$work/db" \
    --data-dir "$work/data" --log-level warn 2>"$work/server.log" &
server_pid=$!
tries=0
while [ ! -s "$work/port" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 200 ]; then
        echo "profile: the server did not start, see $work/server.log" >&2
        kill -TERM "$server_pid" 2>/dev/null || true
        exit 1
    fi
    sleep 0.05
done

perf record -g -o "$work/perf.data" -p "$server_pid" 2>"$work/perf.log" &
perf_pid=$!
sleep 0.5
build/bench/taskrelay-bench throughput --server "http://127.0.0.1:$(cat "$work/port")" \
    --workers 16 --slots 4 --creators 8 --tasks "$tasks" --timeout-s 120
kill -INT "$perf_pid"
wait "$perf_pid" || true
kill -TERM "$server_pid"
wait "$server_pid" || true

perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null |
    grep -v '^#' | grep '%' | head -40
echo "perf data kept in $work/perf.data"
