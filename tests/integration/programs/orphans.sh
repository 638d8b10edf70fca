#!/bin/sh
# Leave two processes behind and exit 0 at once: a background sleep in the
# program's process group, and a grandchild that calls setsid. The worker
# must kill both before the task counts as finished.
. "${0%/*}/common.sh"

sleep 300 &
echo $! >"$HOME/member-$TASKRELAY_TASK_ID"
(setsid sh -c 'echo $$ >"$HOME/grandchild-$TASKRELAY_TASK_ID"; exec sleep 300' &)
wait_go "grandchild-$TASKRELAY_TASK_ID"
