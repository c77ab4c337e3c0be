#!/usr/bin/env bash
# methods.sh runs the old method of peers/RESULTS.md and the new one side by
# side, for the explanation of their differences in results/notes.md:
#
#   old      cmd/results as of $OLD (default f07dcec): echo servers inside the
#            load generator's process, one raw client writing one frame per
#            write(2), 1 s x 3 repetitions; idle memory as (heap in use +
#            stack in use) after a forced GC in a child process
#   oldgen   today's cmd/results with the old generator's settings (one
#            generator process, one frame per write(2), no warm-up, 1 s x 3)
#            against servers in their own processes
#   new      today's cmd/results, default method, echo and idle rows at
#            10,000 connections
#
# old and oldgen run twice, alternating, so that the spread between two runs
# of the same method shows beside the difference between methods. Output in
# results/raw/methods/ (not committed). About 30 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${OLD:-f07dcec}
out=results/raw/methods
rm -rf "$out"
mkdir -p "$out/_old"
# The old command, in a directory Go's ./... patterns skip (leading _).
for f in $(git ls-tree --name-only "$OLD" cmd/results/); do
  git show "$OLD:peers/$f" > "$out/_old/$(basename "$f")"
done
go build -o "$out/old-results" "./$out/_old"
go build -o "$out/new-results" ./cmd/results

servers=pushwire,pushwire-peers,gorilla,coder,gobwas,gws
for i in 1 2; do
  echo "== old $i" >&2
  "$out/old-results" -skip zecho,read,mem,zmem,sse,ssefan -o "$out/old$i" 2> "$out/old$i.log"
  echo "== oldgen $i" >&2
  "$out/new-results" -rows echo -servers "$servers" -batch=false -genprocs 1 -warm 0s -reps 3 -o "$out/oldgen$i" 2> "$out/oldgen$i.log"
done
echo "== old memory" >&2
"$out/old-results" -skip echo,zecho,read,zmem,sse,ssefan -o "$out/oldmem" 2> "$out/oldmem.log"
echo "== new" >&2
"$out/new-results" -rows echo,idle -servers "$servers" -idle-servers "$servers" -idle-conns 10000 -o "$out/new" 2> "$out/new.log"
echo "done: $out/{old1,old2,oldmem,oldgen1,oldgen2,new}/RESULTS.md" >&2
