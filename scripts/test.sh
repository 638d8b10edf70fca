#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds with warnings
# as errors, then runs the unit, integration, fault and browser tests
# through ctest. Output of every test goes to test-output/.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/setup.sh
BUILD_DIR="$root/build" bash scripts/build.sh -DTASKRELAY_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo

mkdir -p test-output
ctest --test-dir build --output-on-failure --timeout 900 "$@"
