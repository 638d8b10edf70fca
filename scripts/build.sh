#!/usr/bin/env bash
# Configures and builds taskrelay into build/ (or $BUILD_DIR). Extra
# arguments go to the CMake configure step.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}

cmake -S "$root" -B "$build_dir" -G Ninja "$@" >/dev/null
cmake --build "$build_dir"
