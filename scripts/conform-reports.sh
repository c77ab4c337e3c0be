#!/usr/bin/env bash
# Regenerates the conformance reports, which are not committed (see
# conformance/SUMMARY.md and peers/conformance/SUMMARY.md for the figures):
#   pushwire  server: conformance/reports/pushwire-server, pushwire echo, the whole server catalogue
#             strict: conformance/reports/pushwire-server-strict, the same with -strict
#             client: conformance/reports/pushwire-client, pushwire's own client (conform client -self)
#   h2        h2-server: conformance/reports/pushwire-server-h2, pushwire echo -tls over HTTP/2 (RFC 8441), -strict
#             h2-client: conformance/reports/pushwire-client-h2, pushwire's client over HTTP/2 (client -self -tls)
#   deflate   conformance/reports/deflate-server, deflate-client: only the
#             permessage-deflate cases (12.x, 13.x), both roles, -strict: the
#             run to repeat after a change to the compression code (prints
#             its summary; SUMMARY.md is left alone)
#   peers     peers/conformance/reports/*, SUMMARY.md: every implementation,
#             both roles (peers/cmd/conform-peers)
# pushwire, h2 and all write conformance/SUMMARY.md (committed): each run's
# grades and time, and every case not OK or INFORMATIONAL.
# Usage: scripts/conform-reports.sh [pushwire|h2|deflate|peers|all, a part
# such as strict or h2-client, or a comma-separated list] [time unit, default 3s]
# Parts may run at different times or at once: SUMMARY.md is built from
# the rows kept beside every report on disk.
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
# want says whether the run asked for part $1: a part by name, a group of
# parts (pushwire: server, strict, client; h2: h2-server, h2-client), or
# "all", every part but deflate.
want() {
  local p
  for p in ${what//,/ }; do
    case $p in
      "$1") return 0 ;;
      pushwire) [[ $1 == server || $1 == strict || $1 == client ]] && return 0 ;;
      h2) [[ $1 == h2-server || $1 == h2-client ]] && return 0 ;;
      all) [[ $1 != deflate ]] && return 0 ;;
    esac
  done
  return 1
}

conform() {
  local t0=$SECONDS code=0 dir="" a prev=""
  for a in "$@"; do [ "${prev:-}" = -report ] && dir=$a; prev=$a; done
  "$bin" conform "$@" -timeout "$unit" -q > "$tmp/run.out" || code=$?
  cat "$tmp/run.out"
  [ $code -le 1 ] || exit $code
  local line
  line=$(grep -E '^[^ ]+ \((server|client)\): ' "$tmp/run.out" | tail -1)
  # The run's row of SUMMARY.md and the cases that are not OK or
  # INFORMATIONAL, kept beside its report (SUMMARY.md is built from every
  # report on disk, so parts run at different times add up).
  local label
  label=$(echo "$*" | sed -E 's#(wss?|https?)://127\.0\.0\.1:[0-9]+/#\1://ECHO/#')
  printf '| `pushwire conform %s` | %s | %d s (%s) |\n' "$label" "${line#*: }" $((SECONDS - t0)) "$(date -u +%m-%d\ %H:%M)" > "$dir/summary.row"
  grep -E '^[0-9]+\.[0-9.]+ ' "$tmp/run.out" | sed 's/^/    /' > "$dir/notok.txt" || true
  cat "$dir/summary.row" >> "$tmp/summary"
}

if want server || want strict; then
  url=$(echo_url)
  want server && conform server -url "$url" -limit 67108864 -agent pushwire -report $out/pushwire-server
  want strict && conform server -url "$url" -limit 67108864 -agent pushwire -strict -report $out/pushwire-server-strict
fi
if want client; then
  conform client -self -addr 127.0.0.1:0 -agent pushwire -report $out/pushwire-client
fi
if want h2-server; then
  # pushwire echo -tls serves HTTP/2 with extended CONNECT (it re-executes
  # itself with GODEBUG=http2xconnect=1) and a self-signed certificate.
  url=$(echo_url -tls)
  conform server -url "https${url#wss}" -insecure -limit 67108864 -agent pushwire-h2 -strict -report $out/pushwire-server-h2
fi
if want h2-client; then
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
    echo "Written by \`scripts/conform-reports.sh\` from the reports under conformance/reports/ (not committed), $(nproc) cores shared with other work, time unit $unit. Each row is one run of the whole catalogue; a case counts under the worse of its two grades (behaviour, close). The other implementations: [peers/conformance/SUMMARY.md](../peers/conformance/SUMMARY.md)."
    echo
    echo "| run | grades | run time (finished, UTC) |"
    echo "|---|---|---|"
    for d in pushwire-server pushwire-server-strict pushwire-client pushwire-server-h2 pushwire-client-h2; do
      [ -f "$out/$d/summary.row" ] && cat "$out/$d/summary.row"
    done
    echo
    if cat "$out"/pushwire-*/notok.txt 2>/dev/null | grep -q .; then
      echo "Cases not OK or INFORMATIONAL:"; echo
      for d in "$out"/pushwire-*/; do
        [ -s "$d/notok.txt" ] && { echo "  ${d#$out/}:"; cat "$d/notok.txt"; }
      done
    else
      echo "Every case of every run is OK or INFORMATIONAL."
    fi
  } > "$sum.new"
  mv "$sum.new" "$sum"
  echo "wrote $sum"
fi
if want peers; then
  (cd peers && npm ci --no-audit --no-fund --loglevel=error && go run ./cmd/conform-peers -timeout "$unit")
fi
