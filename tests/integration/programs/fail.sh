#!/bin/sh
# Report progress, write an error to stderr and exit 3.
. "${0%/*}/common.sh"

progress "20 about to fail"
echo "fail.sh: disk quota exceeded on /data/out" >&2
exit 3
