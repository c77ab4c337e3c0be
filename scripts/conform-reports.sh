#!/usr/bin/env bash
# Regenerates the conformance reports, which are not committed:
#   conformance/reports/pushwire-server         pushwire echo, the whole server catalogue
#   conformance/reports/pushwire-server-strict  the same with -strict
#   conformance/reports/pushwire-client         pushwire's own client (conform client -self)
#   peers/conformance/reports/*, SUMMARY.md     every implementation, both roles (peers/cmd/conform-peers)
# Usage: scripts/conform-reports.sh [pushwire|peers|all] [time unit, default 3s]
# The pushwire part takes about 10 minutes on 2 cores, the peers about an hour.
# The time unit stretches Autobahn's 1-second timers for a loaded machine; it
# never changes the grade of a peer that answers in time.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
unit=${2:-3s}
export GOFLAGS=-buildvcs=false
if [ "$what" = pushwire ] || [ "$what" = all ]; then
  bin=$(mktemp -d)/pushwire
  go build -o "$bin" ./cmd/pushwire
  "$bin" echo -addr 127.0.0.1:0 > /tmp/conform-echo.out 2>&1 &
  echo_pid=$!
  trap 'kill $echo_pid 2>/dev/null || true' EXIT
  for _ in $(seq 50); do grep -q listening /tmp/conform-echo.out && break; sleep 0.1; done
  url=$(sed -n 's/.*listening on \(ws:[^ ]*\).*/\1/p' /tmp/conform-echo.out)
  # Exit code 1 means some case is not OK; the reports say which.
  "$bin" conform server -url "$url" -limit 67108864 -agent pushwire -timeout "$unit" -q -report conformance/reports/pushwire-server || true
  "$bin" conform server -url "$url" -limit 67108864 -agent pushwire -timeout "$unit" -q -strict -report conformance/reports/pushwire-server-strict || true
  "$bin" conform client -self -addr 127.0.0.1:0 -agent pushwire -timeout "$unit" -q -report conformance/reports/pushwire-client || true
fi
if [ "$what" = peers ] || [ "$what" = all ]; then
  (cd peers && npm ci --no-audit --no-fund --loglevel=error && go run ./cmd/conform-peers -timeout "$unit")
fi
