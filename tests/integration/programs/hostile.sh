#!/bin/sh
# Write progress lines that a worker must clean or drop: a raw NUL byte,
# invalid UTF-8, a line over the 1,024-byte message limit, garbage, then
# emoji and right-to-left text, and finally a well-formed last step.
. "${0%/*}/common.sh"

fd="$TASKRELAY_PROGRESS_FD"
printf '10 nul\000byte\n' >&"$fd"
printf '20 bad \377\376 utf8 \300\200\n' >&"$fd"
printf '30 %s\n' "$(head -c 5000 /dev/zero | tr '\0' x)" >&"$fd"
printf 'not a progress line\n' >&"$fd"
printf '{"progress": "high", "message": 7}\n' >&"$fd"
printf '140 over one hundred\n' >&"$fd"
printf '%s\n' '50 rocket 🚀 done' >&"$fd"
printf '%s\n' '60 שלום עולם مرحبا' >&"$fd"
printf '%s\n' '{"progress": 80, "message": "json \u00e9 line"}' >&"$fd"
sleep 0.3
progress "100 final"
