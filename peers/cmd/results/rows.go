package main

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// run holds what every row needs.
type run struct {
	bins    *bins
	workers []*worker
	ips     ipPool
	raw     string // raw data directory
	rep     *report
}

// echoSpec is one echo row.
type echoSpec struct{ size, conns, window int }

func (e echoSpec) title() string {
	return fmt.Sprintf("Echo, %s, %d conn", sizeName(e.size), e.conns)
}

func echoSpecs() []echoSpec {
	var out []echoSpec
	for _, size := range []int{16, 1 << 10, 64 << 10} {
		window := 32
		if size >= 64<<10 {
			window = 8
		}
		for _, conns := range []int{1, 100} {
			out = append(out, echoSpec{size, conns, window})
		}
	}
	return out
}

// startServers starts one server process per row name.
func (r *run) startServers(rows []string) (map[string]*server, func()) {
	srvs := map[string]*server{}
	for _, row := range rows {
		argv, path, mode, err := r.bins.serverArgv(row)
		if err == nil {
			var s *server
			s, err = startServer(row, argv, path, mode)
			if err == nil {
				srvs[row] = s
				continue
			}
		}
		logf("server %s: %v", row, err)
	}
	return srvs, func() {
		for _, s := range srvs {
			s.stop()
		}
	}
}

// present returns the rows of names that have a server, in order.
func present(names []string, srvs map[string]*server) []string {
	var out []string
	for _, n := range names {
		if srvs[n] != nil {
			out = append(out, n)
		}
	}
	return out
}

// echoOnce runs one echo measurement of spec against s and returns
// messages per second and messages per second of the server's CPU time.
func (r *run) echoOnce(s *server, spec echoSpec) (rate, perCPU float64, err error) {
	id := newSetID("e")
	defer closeSet(r.workers, id)
	k := min(spec.conns, *genProcs)
	if err := dialSpread(r.workers, k, &r.ips, s, id, spec.conns, "ws"); err != nil {
		return 0, 0, err
	}
	var total int64
	counts := make([]int64, k)
	done := make(chan error, 1)
	go func() {
		done <- all(r.workers[:k], func(i int, w *worker) error {
			f, err := w.ask(*echoDur+*warmDur+time.Minute, "echo %s %d %d %d %d %d", id, spec.size, spec.window,
				warmDur.Milliseconds(), echoDur.Milliseconds(), b2i(*batch))
			if err != nil {
				return err
			}
			counts[i], err = strconv.ParseInt(f[0], 10, 64)
			return err
		})
	}()
	// The server's CPU time over the counted window, read on the same
	// schedule as the generators count (within a millisecond or two).
	time.Sleep(*warmDur)
	c0, err0 := cpuTime(s.pid())
	time.Sleep(*echoDur)
	c1, err1 := cpuTime(s.pid())
	if err := <-done; err != nil {
		return 0, 0, err
	}
	for _, c := range counts {
		total += c
	}
	rate = float64(total) / echoDur.Seconds()
	if err0 == nil && err1 == nil && c1 > c0 {
		perCPU = float64(total) / (c1 - c0).Seconds()
	}
	return rate, perCPU, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// echoRows measures every echo row, interleaving the servers and rotating
// their order in each repetition.
func (r *run) echoRows(srvs map[string]*server, names []string) []*workload {
	var out []*workload
	for _, spec := range echoSpecs() {
		w := &workload{
			file: fmt.Sprintf("echo-%s-%dc", sizeName(spec.size), spec.conns), title: spec.title(),
			unit: "msgs/s", higher: true, mbps: float64(spec.size) / 1e6,
			note: fmt.Sprintf("binary frames of %d B, %d in flight per connection, %d load generator process(es); %v warm-up then %v counted per repetition",
				spec.size, spec.window, min(spec.conns, *genProcs), *warmDur, *echoDur),
		}
		cw := &workload{
			file: w.file + "-cpu", title: spec.title() + ", per server CPU-second",
			unit: "msgs/CPU-s", higher: true,
			note: "the same repetitions: messages echoed ÷ CPU time of the server process over the counted window (/proc/PID/task/*/schedstat); less sensitive to the other work on the machine than msgs/s, since a server's CPU time stops while it waits for a core",
		}
		for rep := range *reps {
			for _, name := range rotate(names, rep) {
				v, c, err := r.echoOnce(srvs[name], spec)
				if err != nil {
					logf("%s %s: %v", w.title, name, err)
					w.fail(name, err)
					cw.fail(name, err)
					continue
				}
				w.add(name, v)
				if c > 0 {
					cw.add(name, c)
				}
			}
		}
		logf("%s: %s", w.title, w.summary())
		logf("%s: %s", cw.title, cw.summary())
		w.cpu = cw
		out = append(out, w)
	}
	return out
}

// latencyRow measures round trips of one 16-byte message at a time, pooled
// over interleaved repetitions.
func (r *run) latencyRow(srvs map[string]*server, names []string) *latency {
	l := &latency{size: 16, samples: map[string][]float64{}, errs: map[string]string{}}
	for rep := range *reps {
		for _, name := range rotate(names, rep) {
			id := newSetID("l")
			err := dialSpread(r.workers, 1, &r.ips, srvs[name], id, 1, "ws")
			var f []string
			if err == nil {
				f, err = r.workers[0].ask(5*time.Minute, "lat %s %d %d %d", id, l.size, *latCount, *latCount/10)
			}
			closeSet(r.workers, id)
			if err != nil {
				logf("latency %s: %v", name, err)
				l.errs[name] = err.Error()
				continue
			}
			for _, s := range f {
				ns, _ := strconv.ParseFloat(s, 64)
				l.samples[name] = append(l.samples[name], ns/1e3)
			}
		}
	}
	l.names = names
	for _, n := range names {
		p50, p99 := l.pct(n)
		logf("latency %s: p50 %.1f µs, p99 %.1f µs (%d round trips)", n, p50, p99, len(l.samples[n]))
	}
	return l
}

// latency is the round-trip row: samples in µs per server.
type latency struct {
	size    int
	names   []string
	samples map[string][]float64
	errs    map[string]string
}

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func (l *latency) pct(name string) (p50, p99 float64) {
	return percentile(l.samples[name], 50), percentile(l.samples[name], 99)
}

// readRows measures each library's client reading a stream of server
// frames from loadgen's raw frame server.
func (r *run) readRows(libs []string) []*workload {
	var out []*workload
	for _, size := range []int{16, 1 << 10, 64 << 10} {
		// About a second of reading at the best rate seen so far.
		n := map[int]int{16: 4_000_000, 1 << 10: 1_000_000, 64 << 10: 40_000}[size]
		if *quick {
			n /= 10
		}
		fs, err := startServer("frames", []string{r.bins.loadgen, "frames", "-size", strconv.Itoa(size)}, "/", "")
		w := &workload{
			file: "read-" + sizeName(size), title: fmt.Sprintf("Client read, %s", sizeName(size)),
			unit: "msgs/s", higher: true, mbps: float64(size) / 1e6,
			note: fmt.Sprintf("each library's client, in its own process, reads %d binary frames of %d B that loadgen's raw server writes in 256 KiB batches; time from the end of the handshake to the last message", n, size),
		}
		if err != nil {
			logf("read %d: %v", size, err)
			continue
		}
		cw := &workload{
			file: w.file + "-cpu", title: w.title + ", per client CPU-second", unit: "msgs/CPU-s", higher: true,
			note: "the same repetitions: messages ÷ CPU time of the client process (user + system, from its rusage; it includes the process's start and dial, a few milliseconds)",
		}
		w.cpu = cw
		for rep := range *reps {
			for _, lib := range rotate(libs, rep) {
				v, c, err := r.readOnce(lib, fs.addr, n, "")
				if err != nil {
					logf("%s %s: %v", w.title, lib, err)
					w.fail(lib, err)
					cw.fail(lib, err)
					continue
				}
				w.add(lib, v)
				if c > 0 {
					cw.add(lib, float64(n)/c)
				}
			}
		}
		fs.stop()
		logf("%s: %s", w.title, w.summary())
		logf("%s: %s", cw.title, cw.summary())
		out = append(out, w)
	}
	return out
}

var readRe = regexp.MustCompile(`read (\d+) msgs \d+ bytes in (\d+) ns`)

// readOnce runs lib's read client for n messages and returns messages per
// second and the client process's CPU time in seconds.
func (r *run) readOnce(lib, addr string, n int, cpuprofile string) (rate, cpu float64, err error) {
	argv := []string{r.bins.peer[lib], "read", "-url", "ws://" + addr + "/", "-n", strconv.Itoa(n)}
	if cpuprofile != "" {
		argv = append(argv, "-cpuprofile", cpuprofile)
	}
	if lib == "node" {
		argv = []string{"node", r.bins.node, "read", "-url", "ws://" + addr + "/", "-n", strconv.Itoa(n)}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	outb, err := cmd.Output()
	if err != nil {
		return 0, 0, err
	}
	m := readRe.FindSubmatch(outb)
	if m == nil {
		return 0, 0, fmt.Errorf("unexpected output %q", outb)
	}
	msgs, _ := strconv.ParseFloat(string(m[1]), 64)
	ns, _ := strconv.ParseFloat(string(m[2]), 64)
	st := cmd.ProcessState
	return msgs / (ns / 1e9), (st.UserTime() + st.SystemTime()).Seconds(), nil
}

// bcastServer starts name's broadcast server and n clients of it (set id,
// spread over every worker), and waits until all n are in its group. The
// caller stops the server and closes the set.
func (r *run) bcastServer(name string, n int) (*server, string, error) {
	argv, err := r.bins.bcastArgv(name)
	if err != nil {
		return nil, "", err
	}
	s, err := startServer(name, argv, "/bc", "ws-drain")
	if err != nil {
		return nil, "", err
	}
	id := newSetID("b")
	if err := dialSpread(r.workers, len(r.workers), &r.ips, s, id, n, "ws-drain"); err != nil {
		closeSet(r.workers, id)
		s.stop()
		return nil, "", err
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		b, err := s.get("/bench/count")
		if err == nil {
			if c, _ := strconv.Atoi(strings.TrimSpace(string(b))); c == n {
				return s, id, nil
			}
			if time.Now().After(deadline) {
				err = fmt.Errorf("group has %s of %d members", strings.TrimSpace(string(b)), n)
			}
		}
		if err != nil {
			closeSet(r.workers, id)
			s.stop()
			return nil, "", err
		}
	}
}

// bcastOne makes s broadcast one 1 KiB message to the n clients of set id
// and waits until every one has read it. It returns the server's answer
// and the time of the last arrival (Unix ns). before, if not nil, runs
// just before the request, once the clients are ready to time it.
func (r *run) bcastOne(s *server, id string, n int, before func()) ([]byte, int64, error) {
	if err := all(r.workers, func(_ int, wk *worker) error { _, err := wk.ask(time.Minute, "mark %s", id); return err }); err != nil {
		return nil, 0, err
	}
	if before != nil {
		before()
	}
	b, err := s.post("/bench/broadcast?size=1024", "")
	if err != nil {
		return nil, 0, err
	}
	gots := make([]int, len(r.workers))
	lasts := make([]int64, len(r.workers))
	err = all(r.workers, func(i int, wk *worker) error {
		f, err := wk.ask(time.Minute, "wait %s 30000", id)
		if err != nil {
			return err
		}
		gots[i], _ = strconv.Atoi(f[0])
		lasts[i], _ = strconv.ParseInt(f[1], 10, 64)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	got, last := 0, int64(0)
	for i := range gots {
		got += gots[i]
		last = max(last, lasts[i])
	}
	if got != n {
		return nil, 0, fmt.Errorf("%d of %d received", got, n)
	}
	return b, last, nil
}

// bcastSys counts each broadcast server's system calls during reps
// broadcasts to n clients (from the request until every client has read
// the message), per member and broadcast.
func (r *run) bcastSys(names []string, n, reps int, sc *sysCounter) []*sysResult {
	var out []*sysResult
	for _, name := range names {
		x := &sysResult{Server: name, Row: fmt.Sprintf("Broadcast 1 KiB to %d conns (per member)", n), Msgs: n * reps}
		s, id, err := r.bcastServer(name, n)
		if err == nil {
			raw := filepath.Join(r.raw, fmt.Sprintf("syscalls-%s-broadcast.txt", name))
			x.Calls, err = sc.count(s.pid(), raw, func() error {
				for range reps {
					if _, _, err := r.bcastOne(s, id, n, nil); err != nil {
						return err
					}
				}
				return nil
			})
			closeSet(r.workers, id)
			s.stop()
		}
		if err != nil {
			x.Err = err.Error()
			logf("syscalls %s broadcast: %v", name, err)
		} else {
			logf("syscalls %s broadcast: %.2f per member (write %.2f, epoll %.2f, futex %.2f)", name, x.per("total"), x.per("write"), x.per("epoll"), x.per("futex"))
		}
		out = append(out, x)
	}
	return out
}

// bcastRow measures the time from the broadcast call until every client
// has read a 1 KiB message, for n connections per server. Servers run one
// at a time, in two passes of opposite order.
func (r *run) bcastRow(names []string, n int) (*workload, *workload) {
	w := &workload{
		file: "broadcast", title: fmt.Sprintf("Broadcast 1 KiB to %d conns", n), unit: "ms",
		note: fmt.Sprintf("time from the broadcast request until every one of %d raw clients (spread over %d load generator processes) has read the message; each library's prepared message where it has one (coder: Write per connection), written from 8 goroutines; pushwire: peer-pushwire, one wsproto.Group.Broadcast of one PreparedMessage (the calling goroutine and, from 1,024 members, GOMAXPROCS − 1 helpers)", n, len(r.workers)),
	}
	cpu := &workload{file: "broadcast-cpu", title: fmt.Sprintf("Broadcast 1 KiB to %d conns, server CPU", n), unit: "CPU ms",
		note: "the same broadcasts: CPU time of the server process (/proc/PID/task/*/schedstat) from the request until every client has read the message; less sensitive to the other work on the machine than the wall time"}
	w.cpu = cpu
	alloc := &workload{file: "broadcast-allocs", title: fmt.Sprintf("Broadcast allocations, %d conns", n), unit: "bytes allocated",
		note: "bytes allocated in the server process during the broadcast call (runtime.MemStats.TotalAlloc)"}
	passes := 2
	if *quick {
		passes = 1
	}
	for pass := range passes {
		order := slices.Clone(names)
		if pass%2 == 1 {
			slices.Reverse(order)
		}
		for _, name := range order {
			if err := r.bcastOnce(name, n, w, cpu, alloc); err != nil {
				logf("%s %s: %v", w.title, name, err)
				w.fail(name, err)
			}
		}
	}
	logf("%s: %s", w.title, w.summary())
	return w, alloc
}

func (r *run) bcastOnce(name string, n int, w, cpu, alloc *workload) error {
	s, id, err := r.bcastServer(name, n)
	if err != nil {
		return err
	}
	defer s.stop()
	defer closeSet(r.workers, id)
	for range *bcastReps {
		var c0 time.Duration
		var cerr error
		var t0 time.Time
		b, last, err := r.bcastOne(s, id, n, func() {
			c0, cerr = cpuTime(s.pid())
			t0 = time.Now()
		})
		if err != nil {
			return err
		}
		c1, cerr1 := cpuTime(s.pid())
		w.add(name, float64(last-t0.UnixNano())/1e6)
		if cerr == nil && cerr1 == nil {
			cpu.add(name, float64(c1-c0)/1e6)
		}
		if f := strings.Fields(string(b)); len(f) == 3 && name != "node" {
			v, _ := strconv.ParseFloat(f[2], 64)
			alloc.add(name, v)
		}
	}
	return nil
}
