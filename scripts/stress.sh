#!/usr/bin/env bash
# Runs the main module's whole test suite again and again with the race
# detector while a CPU hog keeps every core busy, to find the tests that
# fail only under load (flaky = failing).
#
#   scripts/stress.sh            5 iterations
#   scripts/stress.sh 20         20 iterations
#   scripts/stress.sh 3 -run TestH2 ./wsproto
#                                3 iterations of some tests only
#
# Each iteration is `go test -race -count=1 -shuffle=on` (a fresh order
# every time) bounded by -timeout; the hog (one busy loop per core) ends
# with the script. The log of a failing iteration is kept and its failing
# tests are listed; the script exits 1 if any iteration failed.
set -euo pipefail
cd "$(dirname "$0")/.."

iterations=${1:-5}
shift || true
pkgs=("$@")
if [ ${#pkgs[@]} -eq 0 ]; then
  pkgs=(./...)
fi
timeout=${STRESS_TIMEOUT:-30m}
logs=$(mktemp -d "${TMPDIR:-/tmp}/pushwire-stress.XXXXXX")

hogs=()
stop_hogs() {
  for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait "${hogs[@]}" 2>/dev/null || true
}
trap stop_hogs EXIT
for _ in $(seq "$(nproc)"); do
  (while :; do :; done) &
  hogs+=($!)
done

echo "stress: $iterations iteration(s) of go test -race ${pkgs[*]} with $(nproc) busy loop(s); logs in $logs"
start=$SECONDS
failed=0
for i in $(seq "$iterations"); do
  t0=$SECONDS
  log="$logs/iteration-$i.log"
  if go test -race -count=1 -shuffle=on -timeout "$timeout" "${pkgs[@]}" > "$log" 2>&1; then
    echo "stress: iteration $i passed in $((SECONDS - t0))s"
    rm -f "$log"
  else
    failed=$((failed + 1))
    echo "stress: iteration $i FAILED in $((SECONDS - t0))s; log: $log"
    grep -E -- '^(--- FAIL|FAIL|panic:|-test.shuffle)|^\s+--- FAIL' "$log" | sed 's/^/  /' | head -40 || true
  fi
done
echo "stress: $iterations iteration(s), $failed failed, $((SECONDS - start))s"
[ "$failed" -eq 0 ]
