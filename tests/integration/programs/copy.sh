#!/bin/sh
# Copy the payload file and stdin to $HOME for byte-for-byte comparison.
. "${0%/*}/common.sh"

name="$TASKRELAY_TASK_ID-$TASKRELAY_ATTEMPT"
cp "$TASKRELAY_PAYLOAD_FILE" "$HOME/payload-$name.tmp"
mv "$HOME/payload-$name.tmp" "$HOME/payload-$name"
timeout 20 cat >"$HOME/stdin-$name.tmp"
mv "$HOME/stdin-$name.tmp" "$HOME/stdin-$name"
