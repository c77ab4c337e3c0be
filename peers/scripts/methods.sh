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
# results/raw/methods/ (not committed). About 15 minutes on 2 cores.
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

# pushwire ÷ best peer per row and run, and the two copies of pushwire's
# echo against each other.
python3 - "$out" > "$out/summary.md" <<'PY'
import re, sys
out = sys.argv[1]
def parse(path):
    rows, cur = {}, None
    for l in open(path):
        m = re.match(r'^##+ (Server echo, (\S+) messages, (\d+) conn|Echo, (\S+), (\d+) conn)', l)
        if m:
            cur = (m.group(2) or m.group(4), m.group(3) or m.group(5))
            rows[cur] = {}
            continue
        if l.startswith('#'):
            cur = None
        if cur and l.startswith('| ') and not l.startswith('| implementation'):
            f = [x.strip() for x in l.strip().strip('|').split('|')]
            try:
                rows[cur][f[0]] = float(f[1])
            except ValueError:
                pass
    return rows
names = ['old1', 'old2', 'oldgen1', 'oldgen2', 'new']
runs = {k: parse(f'{out}/{k}/RESULTS.md') for k in names}
peers = ['gorilla', 'coder', 'gobwas', 'gws']
print('| row | ' + ' | '.join(names) + ' | pushwire-peers ÷ pushwire (oldgen1, oldgen2, new) |')
print('|---' * (len(names) + 2) + '|')
for key in [('16B', '1'), ('1KiB', '1'), ('64KiB', '1'), ('16B', '100'), ('1KiB', '100'), ('64KiB', '100')]:
    cells = []
    for k in names:
        d = runs[k].get(key, {})
        best = max((d[p], p) for p in peers if p in d)
        cells.append('%.2f (%s)' % (d['pushwire'] / best[0], best[1]))
    same = ['%.2f' % (runs[k][key]['pushwire-peers'] / runs[k][key]['pushwire']) for k in ['oldgen1', 'oldgen2', 'new']]
    print('| %s %s conn | ' % key + ' | '.join(cells) + ' | ' + ', '.join(same) + ' |')
PY
cat "$out/summary.md"
echo "done: $out/{old1,old2,oldmem,oldgen1,oldgen2,new}/RESULTS.md, $out/summary.md" >&2
