#!/usr/bin/env bash
# Runs every fuzz target of the main module for a given time each.
#   scripts/fuzz.sh            10s per target (what CI runs)
#   scripts/fuzz.sh 10m        long runs by hand
#   scripts/fuzz.sh 1m wsproto only the targets of one package
# A failing input is written by go test under the package's
# testdata/fuzz/FuzzX/ directory: fix the bug and commit the input.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10s}
only=${2:-}
status=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  pkg=./${dir#./}
  if [ -n "$only" ] && [ "${dir#./}" != "$only" ]; then continue; fi
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    echo "fuzz: $pkg $target ($fuzztime)"
    run() { go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" -fuzzminimizetime="${FUZZMINIMIZETIME:-2s}" "$pkg" > "/tmp/fuzz-$target.log" 2>&1; }
    if ! run; then
      # The fuzzing engine itself can time out talking to its workers on a
      # loaded machine ("context deadline exceeded") without any failing
      # input; such a run is tried once more. A real failure writes its input.
      if ! grep -q 'Failing input written' "/tmp/fuzz-$target.log"; then
        echo "fuzz: $pkg $target: the fuzzing engine failed without a failing input; once more"
        tail -3 "/tmp/fuzz-$target.log"
        if run; then continue; fi
      fi
      cat "/tmp/fuzz-$target.log"
      echo "fuzz: $pkg $target FAILED"
      status=1
    fi
  done
done < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(' . | grep -v -E '^\./(peers|node_modules)/' | sort)
exit $status
