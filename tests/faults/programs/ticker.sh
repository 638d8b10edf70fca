#!/bin/sh
# Run for "seconds" of the payload (default 15), one progress report per
# second ("PERCENT tick K"), and exit 0. Each tick is also appended to
# $HOME/ticks-ID-ATTEMPT, so a test can tell which ticks the program
# reached while the server was down. The program's pid goes to $HOME/pid-ID-ATTEMPT.
. "${0%/*}/../../integration/programs/common.sh"

echo $$ >"$HOME/pid-$TASKRELAY_TASK_ID-$TASKRELAY_ATTEMPT"
seconds=$(sed -n 's/.*"seconds" *: *\([0-9][0-9]*\).*/\1/p' "$TASKRELAY_PAYLOAD_FILE")
seconds=${seconds:-15}

tick=1
while [ "$tick" -le "$seconds" ]; do
    sleep 1
    # Progress 100 belongs to the completed state, so ticks stay below it.
    percent=$((tick * 99 / seconds))
    progress "$percent tick $tick"
    echo "$tick" >>"$HOME/ticks-$TASKRELAY_TASK_ID-$TASKRELAY_ATTEMPT"
    tick=$((tick + 1))
done
exit 0
