#!/usr/bin/env bash
# Installs what is missing, builds taskrelay, starts a server (SQLite) and a
# worker on loopback, submits the example file-report task and shows its
# progress live until it completes. Then both keep running, with the
# dashboard address printed, until Ctrl-C; with --once it stops after the
# task instead.
#
# Tokens are generated on the first run and kept in .quickstart/tokens.env
# (mode 600), so the dashboard token stays the same across runs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

once=0
server_port=${TASKRELAY_QUICKSTART_PORT:-8080}
worker_port=${TASKRELAY_QUICKSTART_WORKER_PORT:-3000}
for arg in "$@"; do
  case "$arg" in
    --once) once=1 ;;
    -h|--help)
      echo "usage: scripts/quickstart.sh [--once]"
      echo "  --once  exit after the example task ends instead of running until Ctrl-C"
      echo "  env TASKRELAY_QUICKSTART_PORT (default 8080), TASKRELAY_QUICKSTART_WORKER_PORT (default 3000)"
      exit 0 ;;
    *) echo "quickstart: unknown argument '$arg'; use --once or --help" >&2; exit 2 ;;
  esac
done

bash scripts/setup.sh
bash scripts/build.sh
bin="$root/build/taskrelay"

state="$root/.quickstart"
mkdir -p "$state"
if [[ ! -f "$state/tokens.env" ]]; then
  umask 077
  {
    echo "TASKRELAY_API_TOKEN=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
    echo "TASKRELAY_WORKER_TOKEN=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
  } > "$state/tokens.env"
  umask 022
fi
set -a
# shellcheck disable=SC1091
. "$state/tokens.env"
set +a
export TASKRELAY_TOKEN=$TASKRELAY_API_TOKEN
export TASKRELAY_SERVER="http://127.0.0.1:$server_port"

for port in "$server_port" "$worker_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "quickstart: port $port on 127.0.0.1 is in use; set TASKRELAY_QUICKSTART_PORT or TASKRELAY_QUICKSTART_WORKER_PORT" >&2
    exit 1
  fi
done

pids=()
stop_all() {
  for pid in "${pids[@]+"${pids[@]}"}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]+"${pids[@]}"}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap stop_all EXIT
trap 'exit 130' INT TERM

"$bin" server --listen "127.0.0.1:$server_port" --db "$state/taskrelay.db" \
  --data-dir "$state/data" 2>>"$state/server.log" &
pids+=($!)

"$bin" worker --server "$TASKRELAY_SERVER" --listen "127.0.0.1:$worker_port" --id quickstart-worker \
  --config "$root/examples/worker.json" --state-dir "$state/worker" 2>>"$state/worker.log" &
pids+=($!)

# Wait until the worker has registered, so the kind is known.
for _ in $(seq 1 100); do
  if "$bin" workers 2>/dev/null | grep -q quickstart-worker; then
    break
  fi
  sleep 0.1
done

echo "quickstart: server on $TASKRELAY_SERVER, worker quickstart-worker on 127.0.0.1:$worker_port"
echo "quickstart: logs in $state/server.log and $state/worker.log"
echo "quickstart: submitting the example file-report task"
status=0
"$bin" submit file-report --payload "{\"dir\": \"$root/src\", \"steps\": 5, \"step_ms\": 400}" --wait || status=$?

if ((once)); then
  exit "$status"
fi
echo
echo "Dashboard: $TASKRELAY_SERVER/  (sign in with the API token in $state/tokens.env)"
echo "API:       $TASKRELAY_SERVER/api/v1/tasks  (Authorization: Bearer \$TASKRELAY_API_TOKEN)"
echo "Press Ctrl-C to stop the server and the worker."
wait "${pids[0]}"
