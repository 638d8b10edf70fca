#!/bin/sh
# The benchmark's progress kind: reports four steps to the worker, then
# exits 0. TASKRELAY_PROGRESS_FD is the worker's progress pipe (fd 3).
fd="${TASKRELAY_PROGRESS_FD:?run this only as a taskrelay task}"
for percent in 25 50 75 100; do
    echo "$percent step" >&"$fd"
done
