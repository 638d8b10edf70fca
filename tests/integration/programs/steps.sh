#!/bin/sh
# Report four progress steps, print to stdout and stderr, and exit 0. The
# steps are 0.4 s apart, slower than the worker's progress rate limit
# (docs/worker.md), so none is merged into the next report.
. "${0%/*}/common.sh"

echo "steps: starting"
progress "10 step 1"
sleep 0.4
progress "40 step 2"
sleep 0.4
progress "70 step 3"
sleep 0.4
echo "steps: almost done" >&2
progress "100 done"
exit 0
