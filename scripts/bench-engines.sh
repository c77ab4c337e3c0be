#!/usr/bin/env bash
# Runs the publish-to-delivery benchmark of the engines side by side:
# BenchmarkJetStream (engines/jetstream, nats-server embedded, file
# storage) and BenchmarkRedis (engines/redis, a redis-server with an
# append-only file, appendfsync always and everysec), interleaved in
# rounds so that both see the same load, then prints the median of each
# figure over the rounds as a Markdown table, with the load average
# before each round. Raw output goes to $OUT (default a temporary
# directory); nothing is written in the repository.
#   scripts/bench-engines.sh            3 rounds of 3000 entries
#   scripts/bench-engines.sh 5 5000     5 rounds of 5000 entries
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
entries=${2:-3000}
out=${OUT:-$(mktemp -d)}
echo "raw output in $out" >&2
for r in $(seq 1 "$rounds"); do
  for engine in jetstream redis; do
    case $engine in
      jetstream) bench=JetStream ;;
      redis) bench=Redis ;;
    esac
    echo "round $r: $engine (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg)" > "$out/$engine-$r.txt"
    (cd "engines/$engine" && go test -run '^$' -bench "^Benchmark$bench\$" -benchtime "${entries}x" -timeout 30m .) >> "$out/$engine-$r.txt"
  done
done
go run scripts/benchmedian.go "$out"/*.txt
