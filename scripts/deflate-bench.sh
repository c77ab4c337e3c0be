#!/usr/bin/env bash
# Benchmarks of internal/deflate against compress/flate and
# klauspost/compress: compression (MB/s by CPU time and ratio), inflation,
# and the codec work of one compressed echo. Each benchmark runs COUNT
# times (default 5) and the best CPU-time figure is kept, since this
# machine is shared; the ratio does not vary.
#   scripts/deflate-bench.sh            all of them
#   COUNT=10 scripts/deflate-bench.sh   more runs
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-5}
best() {
  awk '{
    name=$1; v=""; r="";
    for (i = 1; i <= NF; i++) { if ($i == "cpuMB/s") v = $(i-1); if ($i == "ratio") r = $(i-1); if ($i == "allocs/op") a = $(i-1) }
    if (v == "") next
    if (!(name in b) || v + 0 > b[name] + 0) b[name] = v
    ratio[name] = r; allocs[name] = a
    if (!(name in seen)) { seen[name] = 1; order[n++] = name }
  } END {
    printf "%-58s %10s %8s %7s\n", "benchmark", "cpuMB/s", "ratio", "allocs"
    for (i = 0; i < n; i++) printf "%-58s %10.1f %8s %7s\n", order[i], b[order[i]], ratio[order[i]], allocs[order[i]]
  }'
}
echo "== internal/deflate: Encoder and Decoder against compress/flate; the codec work of a compressed echo (BenchmarkEcho)"
go test -run '^$' -bench 'Benchmark(Encode|Decode|Echo)$' -benchtime 200ms -count "$count" ./internal/deflate | best
echo
echo "== peers: against klauspost/compress (level 1; and as gws uses it)"
(cd peers && go test -run '^$' -bench 'Benchmark(DeflatePeers|InflatePeers|EchoCodecPeers)$' -benchtime 200ms -count "$count" . | best)
