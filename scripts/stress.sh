#!/usr/bin/env bash
# Runs the whole test suite again and again with the race detector while
# a CPU hog keeps every core busy, to find the tests that fail only under
# load (flaky = failing).
#
#   scripts/stress.sh            5 iterations
#   scripts/stress.sh 20         20 iterations
#   scripts/stress.sh 3 -run TestH2 ./wsproto
#                                3 iterations of some tests only
#
# An iteration is `go test -race -count=1 -shuffle=on ./...` (a fresh
# order every time) in the main module and then in each other module of
# the go.work (cmd/pushwire, the engines), as .ci/run runs them; with
# arguments, that command with them in the main module only. Each go test
# is bounded by -timeout ($STRESS_TIMEOUT, 30m); the hog (one busy loop
# per core) ends with the script. The log of a failing iteration is kept
# and its failing tests are listed; the script exits 1 if any iteration
# failed.
set -euo pipefail
cd "$(dirname "$0")/.."

iterations=${1:-5}
shift || true
args=("$@")
modules=("$PWD")
if [ ${#args[@]} -eq 0 ]; then
  args=(./...)
  while IFS= read -r dir; do
    [ "$dir" != "$PWD" ] && modules+=("$dir")
  done < <(go list -m -f '{{.Dir}}')
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

echo "stress: $iterations iteration(s) of go test -race ${args[*]} in ${#modules[@]} module(s) with $(nproc) busy loop(s); logs in $logs"
start=$SECONDS
failed=0
for i in $(seq "$iterations"); do
  t0=$SECONDS
  log="$logs/iteration-$i.log"
  ok=1
  for dir in "${modules[@]}"; do
    echo "== module ${dir#$PWD/}" >> "$log"
    (cd "$dir" && go test -race -count=1 -shuffle=on -timeout "$timeout" "${args[@]}") >> "$log" 2>&1 || ok=0
  done
  if [ "$ok" = 1 ]; then
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
