#!/bin/sh
# file-report: counts the files and bytes under a directory, checksums a
# sample of the files, and writes a JSON summary as the task's result.
#
# Payload (JSON in $TASKRELAY_PAYLOAD_FILE):
#   {"dir": "/usr/share/doc", "steps": 5, "step_ms": 300, "sample": 20}
#   dir      required; a plain string (no quotes, backslashes or newlines)
#   steps    progress steps, 3-100, default 5; the checksums are split over
#            steps - 2 of them
#   step_ms  pause after each step in milliseconds, 0-60000, default 300, so
#            the progress can be watched
#   sample   files to checksum, 1-10000, default 20
#
# Progress: "taskrelay progress PERCENT MESSAGE" when taskrelay is on PATH,
# else a "PERCENT MESSAGE" line on the descriptor in $TASKRELAY_PROGRESS_FD,
# else a line on stderr.
# Result: JSON in $TASKRELAY_RESULT_FILE; the list of checksums goes to
# $TASKRELAY_ARTIFACTS_DIR/checksums.txt when that is set.
# Exit status: 0 on success, 2 for invalid input, 1 when the work failed.
#
# The script needs GNU find (-printf) and coreutils (sha256sum, and sleep
# with fractions of a second), as on Debian.
set -eu

fail() {
    status=$1
    shift
    printf 'file-report: %s\n' "$*" >&2
    exit "$status"
}

report() {
    if command -v taskrelay >/dev/null 2>&1; then
        taskrelay progress "$1" "$2" || true
    elif [ -n "${TASKRELAY_PROGRESS_FD:-}" ]; then
        case $TASKRELAY_PROGRESS_FD in
            *[!0-9]*) fail 2 "TASKRELAY_PROGRESS_FD='$TASKRELAY_PROGRESS_FD' is not a descriptor number" ;;
        esac
        eval "printf '%s %s\\n' \"\$1\" \"\$2\" >&$TASKRELAY_PROGRESS_FD"
    else
        printf 'progress %s%% %s\n' "$1" "$2" >&2
    fi
}

pause() {
    if [ "$step_ms" -gt 0 ]; then
        sleep "$((step_ms / 1000)).$(printf '%03d' $((step_ms % 1000)))"
    fi
}

# Prints the value of a top-level string field, or nothing when it is
# absent. The payload is flattened to one line first.
string_field() {
    tr '\n' ' ' <"$payload_file" |
        sed -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*"\([^"\\]*\)".*/\1/p'
}

# Prints the value of an integer field, or $2 when the field is absent.
# Exits when the field is present but not an integer in [$3, $4].
int_field() {
    if ! tr '\n' ' ' <"$payload_file" | grep -q "\"$1\"[[:space:]]*:"; then
        printf '%s\n' "$2"
        return
    fi
    value=$(tr '\n' ' ' <"$payload_file" |
        sed -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*\([0-9]\{1,9\}\)[[:space:]]*[,}].*/\1/p')
    if [ -z "$value" ] || [ "$value" -lt "$3" ] || [ "$value" -gt "$4" ]; then
        fail 2 "payload field '$1' must be a whole number from $3 to $4"
    fi
    printf '%s\n' "$value"
}

# Escapes text for a JSON string: backslash and quote, and drops control
# characters.
json_escape() {
    printf '%s' "$1" | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g'
}

payload_file=${TASKRELAY_PAYLOAD_FILE:-}
result_file=${TASKRELAY_RESULT_FILE:-}
[ -n "$payload_file" ] || fail 2 "TASKRELAY_PAYLOAD_FILE is not set; run this as a taskrelay task or set it to a JSON file"
[ -r "$payload_file" ] || fail 2 "cannot read the payload file '$payload_file'"
[ -n "$result_file" ] || fail 2 "TASKRELAY_RESULT_FILE is not set; set it to the path for the JSON result"

dir=$(string_field dir)
if [ -z "$dir" ]; then
    fail 2 "payload field 'dir' is missing or not a plain string: send {\"dir\": \"/usr/share/doc\"}"
fi
[ -d "$dir" ] || fail 2 "directory '$dir' from the payload field 'dir' does not exist"
[ -r "$dir" ] && [ -x "$dir" ] || fail 2 "directory '$dir' is not readable"
steps=$(int_field steps 5 3 100)
step_ms=$(int_field step_ms 300 0 60000)
sample=$(int_field sample 20 1 10000)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Step 1: list the files with their sizes. NOTE: a file name that contains
# a newline splits into two lines here and is counted wrongly.
report 0 "listing files in $dir"
find "$dir" -type f -printf '%s\t%p\n' >"$work/files" || true
files=$(wc -l <"$work/files")
[ "$files" -gt 0 ] || fail 1 "no readable files under '$dir'"
pause

# Step 2: add up the sizes and find the largest file.
report $((100 / steps)) "counted $files files"
bytes=$(awk -F '\t' '{ total += $1 } END { printf "%.0f", total }' "$work/files")
largest=$(sort -t "$(printf '\t')" -k1,1nr "$work/files" | head -n 1)
largest_bytes=${largest%%"$(printf '\t')"*}
largest_path=${largest#*"$(printf '\t')"}
pause

# Steps 3 to N: checksum every k-th file, in steps - 2 batches.
if [ "$sample" -gt "$files" ]; then
    sample=$files
fi
stride=$((files / sample))
awk -F '\t' -v stride="$stride" -v max="$sample" \
    'NR % stride == 0 && n < max { sub(/^[^\t]*\t/, ""); print; n++ }' \
    "$work/files" >"$work/sample"
batches=$((steps - 2))
per_batch=$(((sample + batches - 1) / batches))
batch=1
: >"$work/sums"
while [ "$batch" -le "$batches" ]; do
    first=$(((batch - 1) * per_batch + 1))
    last=$((batch * per_batch))
    sed -n "${first},${last}p" "$work/sample" | while IFS= read -r path; do
        sha256sum -- "$path" 2>/dev/null || printf 'unreadable  %s\n' "$path"
    done >>"$work/sums"
    done_count=$(wc -l <"$work/sums")
    report $(((batch + 1) * 100 / steps)) "checksummed $done_count of $sample sampled files"
    pause
    batch=$((batch + 1))
done

sample_digest=$(sha256sum <"$work/sums" | cut -d ' ' -f 1)
unreadable=$(grep -c '^unreadable ' "$work/sums" || true)
if [ -n "${TASKRELAY_ARTIFACTS_DIR:-}" ] && [ -d "$TASKRELAY_ARTIFACTS_DIR" ]; then
    cp "$work/sums" "$TASKRELAY_ARTIFACTS_DIR/checksums.txt"
fi

cat >"$result_file" <<JSON
{"dir": "$(json_escape "$dir")", "files": $files, "bytes": $bytes, "largest": {"path": "$(json_escape "$largest_path")", "bytes": $largest_bytes}, "sampled": $sample, "unreadable": $unreadable, "sample_sha256": "$sample_digest"}
JSON
report 100 "$files files, $bytes bytes"
