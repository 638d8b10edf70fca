#!/bin/sh
# Report three steps, each only after the test creates its go-file
# $HOME/go-TASK-STEP, so the test reads the status between steps. The
# program exits after go-TASK-4.
. "${0%/*}/common.sh"

for step in 1 2 3; do
    wait_go "go-$TASKRELAY_TASK_ID-$step"
    progress "$((step * 30)) step $step"
done
wait_go "go-$TASKRELAY_TASK_ID-4"
