#!/bin/sh
# Write progress lines that a worker must clean or drop: a raw NUL byte,
# invalid UTF-8, a line over the 1,024-byte message limit, garbage, then
# emoji and right-to-left text, and finally a well-formed last step. The
# lines are 0.4 s apart, slower than the worker's progress rate limit
# (docs/worker.md), so none is merged into the next report.
. "${0%/*}/common.sh"

fd="$TASKRELAY_PROGRESS_FD"
printf '10 nul\000byte\n' >&"$fd"
sleep 0.4
printf '20 bad \377\376 utf8 \300\200\n' >&"$fd"
sleep 0.4
printf '30 %s\n' "$(head -c 5000 /dev/zero | tr '\0' x)" >&"$fd"
sleep 0.4
printf 'not a progress line\n' >&"$fd"
sleep 0.4
printf '{"progress": "high", "message": 7}\n' >&"$fd"
sleep 0.4
printf '140 over one hundred\n' >&"$fd"
sleep 0.4
printf '%s\n' '50 rocket 🚀 done' >&"$fd"
sleep 0.4
printf '%s\n' '60 שלום עולם مرحبا' >&"$fd"
sleep 0.4
printf '%s\n' '{"progress": 80, "message": "json \u00e9 line"}' >&"$fd"
sleep 0.4
progress "100 final"
