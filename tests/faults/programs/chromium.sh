#!/bin/sh
# Start a headless Chromium in the background and end abruptly a moment
# later, leaving Chromium and its helper processes behind for the worker to
# kill and reap: odd task ids kill themselves with SIGKILL, even ones exit 1.
. "${0%/*}/../../integration/programs/common.sh"

profile=$(mktemp -d "$HOME/chromium-profile-XXXXXX")
/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --disable-quic \
    --user-data-dir="$profile" about:blank >/dev/null 2>&1 &
sleep 0.5
if [ $((TASKRELAY_TASK_ID % 2)) -eq 1 ]; then
    kill -9 $$
fi
exit 1
