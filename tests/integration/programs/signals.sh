#!/bin/sh
# Print the ignored and blocked signal masks this program inherited, as
# the kernel reports them for a process that sh starts with exec.
. "${0%/*}/common.sh"

exec grep -E '^Sig(Ign|Blk):' /proc/self/status
