#!/usr/bin/env bash
# Regenerates the conformance reports, which are not committed (see
# conformance/SUMMARY.md and peers/conformance/SUMMARY.md for the figures):
#   pushwire  conformance/reports/pushwire-server         pushwire echo, the whole server catalogue
#             conformance/reports/pushwire-server-strict  the same with -strict
#             conformance/reports/pushwire-client         pushwire's own client (conform client -self)
#   h2        conformance/reports/pushwire-server-h2      pushwire echo -tls over HTTP/2 (RFC 8441), -strict
#             conformance/reports/pushwire-client-h2      pushwire's client over HTTP/2 (client -self -tls)
#   deflate   conformance/reports/deflate-server, deflate-client: only the
#             permessage-deflate cases (12.x, 13.x), both roles, -strict: the
#             run to repeat after a change to the compression code (prints
#             its summary; SUMMARY.md is left alone)
#   peers     peers/conformance/reports/*, SUMMARY.md: every implementation,
#             both roles (peers/cmd/conform-peers)
# pushwire, h2 and all write conformance/SUMMARY.md (committed): each run's
# grades and time, and every case not OK or INFORMATIONAL.
# Usage: scripts/conform-reports.sh [pushwire|h2|deflate|peers|all, or a
# comma-separated list such as pushwire,h2] [time unit, default 3s]
# Each run prints its summary line ("N cases: ... OK, ..."). On 2 cores:
# pushwire about 10 minutes, h2 about 5, deflate about 4, peers about an hour.
# The time unit stretches Autobahn's 1-second timers for a loaded machine; it
# never changes the grade of a peer that answers in time.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
unit=${2:-3s}
export GOFLAGS=-buildvcs=false
out=conformance/reports
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
bin=$tmp/pushwire
go build -o "$bin" ./cmd/pushwire

# echo_url starts `pushwire echo` with the given flags and prints its URL.
echo_url() {
  local log=$tmp/echo.$RANDOM.out
  "$bin" echo -addr 127.0.0.1:0 "$@" > "$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.1; done
  sed -n 's/.*listening on \([a-z]*:[^ ]*\).*/\1/p' "$log"
}

# conform runs `pushwire conform` and keeps going when cases are not OK
# (exit code 1): the reports say which. It adds the run's summary line and
# run time to $tmp/summary, from which conformance/SUMMARY.md is written.
# want says whether the run asked for part $1 ("all" is every part but
# deflate).
want() { [[ ",$what," == *",$1,"* ]] || { [ "$what" = all ] && [ "$1" != deflate ]; }; }

conform() {
  local t0=$SECONDS code=0
  "$bin" conform "$@" -timeout "$unit" -q > "$tmp/run.out" || code=$?
  cat "$tmp/run.out"
  [ $code -le 1 ] || exit $code
  local line
  line=$(grep -E '^[^ ]+ \((server|client)\): ' "$tmp/run.out" | tail -1)
  printf '| `pushwire conform %s` | %s | %d s |\n' "$*" "${line#*: }" $((SECONDS - t0)) >> "$tmp/summary"
  # Every case that is not OK or INFORMATIONAL, with its reason.
  grep -E '^[0-9]+\.[0-9.]+ ' "$tmp/run.out" | sed 's/^/    /' >> "$tmp/notok" || true
}

if want pushwire; then
  url=$(echo_url)
  conform server -url "$url" -limit 67108864 -agent pushwire -report $out/pushwire-server
  conform server -url "$url" -limit 67108864 -agent pushwire -strict -report $out/pushwire-server-strict
  conform client -self -addr 127.0.0.1:0 -agent pushwire -report $out/pushwire-client
fi
if want h2; then
  # pushwire echo -tls serves HTTP/2 with extended CONNECT (it re-executes
  # itself with GODEBUG=http2xconnect=1) and a self-signed certificate.
  url=$(echo_url -tls)
  conform server -url "https${url#wss}" -insecure -limit 67108864 -agent pushwire-h2 -strict -report $out/pushwire-server-h2
  conform client -self -tls -addr 127.0.0.1:0 -agent pushwire-h2 -report $out/pushwire-client-h2
fi
if want deflate; then
  url=$(echo_url)
  conform server -url "$url" -limit 67108864 -agent pushwire -strict -cases '12.*,13.*' -report $out/deflate-server
  conform client -self -addr 127.0.0.1:0 -agent pushwire -strict -cases '12.*,13.*' -report $out/deflate-client
fi
if [ "$what" = deflate ]; then
  cat "$tmp/summary"
elif [ -s "$tmp/summary" ]; then
  sum=conformance/SUMMARY.md
  {
    echo "# Conformance of pushwire (generated)"
    echo
    echo "Written by \`scripts/conform-reports.sh $what $unit\` on $(date -u +%Y-%m-%d), $(nproc) cores, time unit $unit; the full reports are under conformance/reports/ (not committed). Grades: the worse of each case's two (behaviour, close). The other implementations: [peers/conformance/SUMMARY.md](../peers/conformance/SUMMARY.md)."
    echo
    echo "| run | grades | time |"
    echo "|---|---|---:|"
    cat "$tmp/summary"
    echo
    if [ -s "$tmp/notok" ]; then echo "Cases not OK or INFORMATIONAL:"; echo; cat "$tmp/notok"; else echo "Every case of every run is OK or INFORMATIONAL."; fi
  } > "$sum.new"
  mv "$sum.new" "$sum"
  echo "wrote $sum"
fi
if want peers; then
  (cd peers && npm ci --no-audit --no-fund --loglevel=error && go run ./cmd/conform-peers -timeout "$unit")
fi
