#!/usr/bin/env bash
# Installs what building and testing taskrelay needs on Debian or Ubuntu:
# the C libraries and tools from apt, Chromium for the browser examples and
# tests, and the npm packages of examples/tasks and tests/browser. Safe to
# run again: it installs only what is missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake ninja-build pkg-config
  libmicrohttpd-dev libcurl4-openssl-dev libjansson-dev libsqlite3-dev libcmocka-dev
  python3 nodejs npm chromium procps util-linux curl
)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
# nodejs from another source may provide node and npm without the Debian
# packages; accept that.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for pkg in "${missing[@]}"; do
    [[ "$pkg" == nodejs || "$pkg" == npm ]] || filtered+=("$pkg")
  done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The browsers come from Debian; the npm packages must never fetch one.
export PUPPETEER_SKIP_DOWNLOAD=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
for dir in examples/tasks tests/browser; do
  if [[ -f "$root/$dir/package.json" && ! -d "$root/$dir/node_modules" ]]; then
    echo "setup: npm install in $dir"
    (cd "$root/$dir" && npm install --no-audit --no-fund --loglevel=error)
  fi
done
