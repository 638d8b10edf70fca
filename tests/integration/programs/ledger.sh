#!/bin/sh
# Record the execution (common.sh does) and stay running for a moment, so a
# repeated /execute arrives while the run is still going.
. "${0%/*}/common.sh"

sleep 1
progress "100 recorded"
