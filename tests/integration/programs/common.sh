# Sourced by the test programs. The harness starts the worker with HOME set
# to the test's temporary directory, so everything a program writes for the
# test to check goes there.

# Record one real execution: "TASK_ID ATTEMPT PROGRAM".
printf '%s %s %s\n' "$TASKRELAY_TASK_ID" "$TASKRELAY_ATTEMPT" "${0##*/}" >>"$HOME/ledger"

# progress LINE: write one progress line to the worker.
progress() {
    printf '%s\n' "$1" >&"$TASKRELAY_PROGRESS_FD"
}

# wait_go NAME: wait until the test creates $HOME/NAME; exit 4 after 60 s so
# a test that died never leaves the program waiting forever.
wait_go() {
    waited=0
    while [ ! -e "$HOME/$1" ]; do
        sleep 0.05
        waited=$((waited + 1))
        if [ "$waited" -gt 1200 ]; then
            echo "gave up waiting for $HOME/$1" >&2
            exit 4
        fi
    done
}
