// Command results measures pushwire and the other WebSocket libraries side
// by side, as users run them, and writes RESULTS.md: every server in its own
// process (the shipped `pushwire echo`, each peer's plain echo server built
// from peers/cmd/peer-*, Node ws, `pushwire serve` for /chat), load from
// several raw-socket load generator processes (peers/cmd/loadgen), and
// runtime figures read from each server's -debug-addr endpoint.
//
// Usage, from peers/:
//
//	go run ./cmd/results            # full run, writes RESULTS.md (about 20 min)
//	go run ./cmd/results -quick     # about 3 min, writes results/raw/quick/RESULTS.md
//	go run ./cmd/results -rows echo,lat -reps 3 -o /tmp/x
//	go run ./cmd/results -notes     # copy results/notes.md into RESULTS.md again
//
// A/B against another commit, interleaved in one run: build that commit's
// `pushwire` (../cmd/pushwire) and `peer-pushwire` (./cmd/peer-pushwire)
// into one directory and add the row pushwire-base:
//
//	go run ./cmd/results -base /tmp/old -servers pushwire,pushwire-base,gws -readers pushwire,pushwire-base,gws -rows echo,sys,lat,read,bcast -o /tmp/ab
//
// Rows (-rows, comma-separated; default all): echo, lat, sys, read, bcast,
// bsys (the broadcast servers' system calls per member), idle, prof (CPU profiles where pushwire is below -prof-below), zecho and
// zmem (permessage-deflate: each server a process of its own, the load
// from this process), and the rows of the old in-process method not yet
// moved to processes: sse, ssefan. Raw data (every sample, perf and pprof output) goes to
// results/raw/, which is not committed. Everything stays on 127.0.0.0/8.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var (
	rowsFlag    = flag.String("rows", "echo,lat,sys,read,bcast,bsys,idle,prof,zecho,zmem,sse,ssefan", "comma-separated rows to run")
	quick       = flag.Bool("quick", false, "a short run: 1 repetition, short windows, 2,000 idle connections, no profiles or old-method rows; writes to results/raw/quick unless -o is given")
	reps        = flag.Int("reps", 5, "interleaved repetitions per throughput and latency figure (median reported)")
	echoDur     = flag.Duration("echo", time.Second, "counted duration of one echo repetition")
	warmDur     = flag.Duration("warm", 200*time.Millisecond, "warm-up before each echo repetition, not counted")
	batch       = flag.Bool("batch", true, "load generator: write every free slot of the window in one write(2); false: one write(2) per frame")
	genProcs    = flag.Int("genprocs", 2, "load generator processes for the echo rows (at most one per connection)")
	nWorkers    = flag.Int("workers", 4, "load generator processes for the idle and broadcast rows")
	servers     = flag.String("servers", "pushwire,gorilla,coder,gobwas,gws,node", "servers of the echo, latency and system call rows (pushwire-peers adds peers' in-process pushwire echo as a process)")
	readLibs    = flag.String("readers", "pushwire,gorilla,coder,gobwas,gws,node", "clients of the client read rows")
	idleServers = flag.String("idle-servers", "pushwire,pushwire-peers,gorilla,coder,gobwas,gws,node,chat-ws,chat-sse,chat-ndjson,chat-poll", "servers of the idle memory rows")
	idleCounts  = flag.String("idle-conns", "10000,19000", "idle connection counts")
	bConns      = flag.Int("bconns", 10000, "connections of the broadcast row")
	bcastReps   = flag.Int("breps", 3, "broadcasts per server and pass (two passes, in opposite order)")
	latCount    = flag.Int("lat", 5000, "round trips per latency repetition")
	wakeCount   = flag.Int("wake", 25, "first messages after idleness, per load generator process")
	profBelow   = flag.Float64("prof-below", 1.2, "profile pushwire (and the best peer) on the rows where pushwire ÷ best peer is below this")
	profSecs    = flag.Duration("prof-secs", 5*time.Second, "length of each CPU profile")
	notesOnly   = flag.Bool("notes", false, "measure nothing: copy results/notes.md into RESULTS.md again, after the measured part")
	baseDir     = flag.String("base", "", "A/B: a directory holding pushwire and peer-pushwire built from another commit, measured as the server, reader and broadcast row pushwire-base (add it to -servers and -readers)")
	out         = flag.String("o", "", "directory for RESULTS.md and results/raw/ (default . , or results/raw/quick with -quick)")

	// The old method's rows.
	idleConns  = flag.Int("conns", 10000, "old-method rows: connections of the SSE fan-out")
	zConns     = flag.Int("zconns", 2000, "zmem: connections of the memory row with compression")
	only       = flag.String("only", "", "zecho, zmem: comma-separated implementations (default all)")
	zprof      = flag.String("zprof", "", "zecho: directory for a CPU profile of each server during its first repetition of each row")
	cpuprofile = flag.String("cpuprofile", "", "old-method rows: CPU profile of this process")
	childprof  = flag.String("childprof", "", "old-method rows: directory for each child's CPU profile")
	child      = flag.String("child", "", "internal: serve one implementation for the old-method rows")
)

func main() {
	flag.Parse()
	raiseFileLimit()
	if *child != "" {
		childMain()
		return
	}
	if _, err := os.Stat("go.mod"); err != nil || !strings.Contains(readFile("go.mod"), "module github.com/pushwire/pushwire/peers") {
		check(fmt.Errorf("run from peers/ (go run ./cmd/results)"))
	}
	set := func(name, v string) {
		explicit := false
		flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == name })
		if !explicit {
			flag.Set(name, v)
		}
	}
	if *quick {
		set("reps", "1")
		set("echo", "300ms")
		set("warm", "100ms")
		set("idle-conns", "2000")
		set("bconns", "2000")
		set("breps", "2")
		set("lat", "1000")
		set("wake", "5")
		set("rows", "echo,lat,sys,read,bcast,bsys,idle")
		set("o", "results/raw/quick")
	}
	if *out == "" {
		*out = "."
	}
	if *notesOnly {
		check(replaceNotes(*out))
		return
	}
	rows := strings.Split(*rowsFlag, ",")
	want := func(r string) bool { return slices.Contains(rows, r) }

	raw := filepath.Join(*out, "results", "raw")
	if *out != "." {
		raw = filepath.Join(*out, "raw")
	}
	check(os.MkdirAll(raw, 0o755))
	binDir, err := os.MkdirTemp("", "pushwire-results-")
	check(err)
	defer os.RemoveAll(binDir)
	start := time.Now()
	rep := &report{start: start, loadStart: loadAvg(), commit: gitDescribe()}
	logf("building the servers and the load generator")
	b, err := build(binDir)
	check(err)
	rep.node = b.node != ""
	r := &run{bins: b, raw: raw, rep: rep}
	r.ips.next = 2 + int(time.Now().Unix()%200) // not the addresses of a run a minute ago
	for i := range max(*nWorkers, *genProcs) {
		w, err := startWorker(b, i)
		check(err)
		defer w.stop()
		r.workers = append(r.workers, w)
	}

	echoNames := strings.Split(*servers, ",")
	if want("echo") || want("lat") || want("sys") || want("prof") {
		srvs, stop := r.startServers(echoNames)
		names := present(echoNames, srvs)
		rep.limits = serverLimits(srvs)
		if want("echo") {
			rep.echo = r.echoRows(srvs, names)
		}
		if want("lat") {
			rep.lat = r.latencyRow(srvs, names)
		}
		if want("sys") {
			sc := newSysCounter()
			rep.sysTool = sc.tool
			rep.sys = r.sysRows(srvs, names, sc)
		}
		if want("prof") && !*quick {
			for _, w := range rep.echo {
				ratio, best, ok := w.ratio()
				if !ok || ratio >= *profBelow {
					continue
				}
				spec := echoSpecs()[slices.IndexFunc(rep.echo, func(x *workload) bool { return x == w })]
				for _, name := range []string{"pushwire", best} {
					bin := b.pushwire
					if name != "pushwire" {
						bin = b.peer[name]
					}
					if bin == "" {
						continue
					}
					p, err := r.profileEcho(srvs[name], bin, spec, *profSecs)
					if err != nil {
						logf("profile %s %s: %v", name, w.title, err)
						continue
					}
					rep.profiles = append(rep.profiles, p)
				}
			}
		}
		stop()
	}
	if want("read") {
		rep.read = r.readRows(present(strings.Split(*readLibs, ","), libSet(b)))
		if want("prof") && !*quick {
			for i, w := range rep.read {
				ratio, best, ok := w.ratio()
				if !ok || ratio >= *profBelow {
					continue
				}
				size := []int{16, 1 << 10, 64 << 10}[i]
				n := map[int]int{16: 4_000_000, 1 << 10: 1_000_000, 64 << 10: 40_000}[size]
				for _, lib := range []string{"pushwire", best} {
					if lib == "node" {
						continue
					}
					p, err := r.profileRead(lib, size, n)
					if err != nil {
						logf("profile %s %s: %v", lib, w.title, err)
						continue
					}
					rep.profiles = append(rep.profiles, p)
				}
			}
		}
	}
	if want("bcast") {
		rep.bcast, rep.bcastAlloc = r.bcastRow(present(echoNames, libSet(b)), *bConns)
		if ratio, best, ok := rep.bcast.ratio(); want("prof") && !*quick && ok && ratio < *profBelow {
			for _, name := range []string{"pushwire", best} {
				p, err := r.profileBcast(name, *bConns, *profSecs)
				if err != nil {
					logf("profile %s broadcast: %v", name, err)
					continue
				}
				rep.profiles = append(rep.profiles, p)
			}
		}
	}
	if want("bsys") {
		sc := newSysCounter()
		rep.sysTool = sc.tool
		rep.sys = append(rep.sys, r.bcastSys(present(echoNames, libSet(b)), *bConns, 5, sc)...)
	}
	if want("idle") {
		var counts []int
		for _, c := range strings.Split(*idleCounts, ",") {
			n, err := strconv.Atoi(c)
			check(err)
			counts = append(counts, n)
		}
		rep.idle = r.idleRows(strings.Split(*idleServers, ","), counts)
	}
	for _, w := range r.workers {
		w.stop()
	}

	// The old method's rows.
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	old := &oldRows{}
	if want("zecho") {
		compressedEchoWorkloads(old, b)
	}
	if want("zmem") {
		compressedMemWorkload(old, b)
	}
	if want("sse") {
		sseWorkloads(old)
	}
	if want("ssefan") {
		sseFanWorkloads(old)
	}
	rep.old = old.workloads
	rep.elapsed = time.Since(start)
	rep.loadEnd = loadAvg()
	check(rep.write(*out, raw))
	fmt.Fprintf(os.Stderr, "done in %v: %s\n", rep.elapsed.Round(time.Second), filepath.Join(*out, "RESULTS.md"))
}

// libSet is the set of libraries that have a program, for present.
func libSet(b *bins) map[string]*server {
	m := map[string]*server{}
	for n := range b.peer {
		m[n] = &server{}
	}
	if b.node != "" {
		m["node"] = &server{}
	}
	return m
}

// serverLimits reads each server's descriptor limit.
func serverLimits(srvs map[string]*server) map[string]int {
	m := map[string]int{}
	for n, s := range srvs {
		if soft, _, err := fdRoom(s.pid()); err == nil {
			m[n] = soft
		}
	}
	return m
}

func readFile(name string) string {
	b, _ := os.ReadFile(name)
	return string(b)
}

func gitDescribe() string {
	outb, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(outb))
	// Uncommitted changes other than this command's own output.
	st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no", "..").Output()
	if err != nil {
		return c
	}
	for l := range strings.SplitSeq(strings.TrimSpace(string(st)), "\n") {
		if l != "" && !strings.HasSuffix(l, "peers/RESULTS.md") && !strings.HasSuffix(l, "peers/results/notes.md") {
			return c + " with uncommitted changes"
		}
	}
	return c
}

func childMain() {
	if *childprof != "" {
		f, err := os.Create(filepath.Join(*childprof, *child+".prof"))
		check(err)
		check(pprof.StartCPUProfile(f))
		// A child ends when its stdin closes or it is told to stop
		// (SIGTERM), so the profile is flushed then.
		stopProfileOnSignal()
		defer pprof.StopCPUProfile()
	}
	if name, ok := strings.CutPrefix(*child, "sse-"); ok {
		runSSEChild(name)
		return
	}
	runChild(*child)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "results:", err)
		os.Exit(1)
	}
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", a...)
}

// raiseFileLimit sets the soft descriptor limit to the hard one, so that
// the children (servers, load generators, node) inherit it: Go raises its
// own soft limit at start-up but gives children the original one unless
// the program calls Setrlimit itself.
func raiseFileLimit() {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// rotate returns xs starting at i, so that repetitions interleave and no
// implementation always runs first.
func rotate[T any](xs []T, i int) []T {
	i %= len(xs)
	return append(slices.Clone(xs[i:]), xs[:i]...)
}

// oldRows collects the workloads of the old method's rows.
type oldRows struct{ workloads []*workload }

func (o *oldRows) add(w *workload) { o.workloads = append(o.workloads, w) }

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// jsonFile writes v as indented JSON.
func jsonFile(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(name, b, 0o644)
}
