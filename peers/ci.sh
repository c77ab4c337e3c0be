#!/usr/bin/env bash
# Interop tests of pushwire with other implementations. Installs the external
# peers when missing (Python websockets from Debian, Node ws and eventsource
# from npm into peers/node_modules), then runs the peers module's tests.
set -euo pipefail
cd "$(dirname "$0")"
export GOFLAGS=-buildvcs=false

have_pyws() {
  for p in python3 /usr/bin/python3; do
    command -v "$p" >/dev/null 2>&1 && "$p" -c 'import websockets' 2>/dev/null && return 0
  done
  return 1
}

missing=()
have_pyws || missing+=(python3-websockets)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
npm ci --no-audit --no-fund --loglevel=error

go vet ./...
go test -race -count=1 -timeout 8m ./...
