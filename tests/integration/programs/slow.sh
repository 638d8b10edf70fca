#!/bin/sh
# Start two child processes and wait for them; the test cancels the task or
# lets it time out. Each child writes its pid so the test can check it.
. "${0%/*}/common.sh"

progress "5 sleeping"
sleep 300 &
echo $! >"$HOME/slow-child1-$TASKRELAY_TASK_ID"
sh -c 'echo $$ >"$HOME/slow-child2-$TASKRELAY_TASK_ID"; exec sleep 300' &
wait
