#!/bin/sh
# Write two artifacts (one binary, one text) and a result file. A copy of
# the binary artifact goes to $HOME for the test to compare.
. "${0%/*}/common.sh"

head -c 300000 /dev/urandom >"$TASKRELAY_ARTIFACTS_DIR/blob.bin"
cp "$TASKRELAY_ARTIFACTS_DIR/blob.bin" "$HOME/artifact-$TASKRELAY_TASK_ID.bin"
printf 'line one\nline two\n' >"$TASKRELAY_ARTIFACTS_DIR/report.txt"
printf '{"answer": 42, "text": "caf\\u00e9 \\ud83d\\ude80", "list": [1, 2, 3]}\n' \
    >"$TASKRELAY_RESULT_FILE"
progress "100 written"
