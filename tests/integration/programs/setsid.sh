#!/bin/sh
# Start a grandchild that calls setsid (so it leaves the program's process
# group and session) and sleeps, then hang. Only the timeout or a cancel ends
# this program.
. "${0%/*}/common.sh"

(setsid sh -c 'echo $$ >"$HOME/grandchild-$TASKRELAY_TASK_ID"; exec sleep 300' &)
progress "10 grandchild started"
sleep 300
