package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// idleResult is one server at one connection count.
type idleResult struct {
	Server    string
	Want, N   int    // connections asked for and held
	FdNote    string // why N < Want, if it is
	RSS0, RSS int64  // VmRSS before and with the connections
	RSSGC     int64  // VmRSS after two forced collections
	G0, G     int    // goroutines before and with; -1 if unknown
	// Heap in use + stack in use (runtime.MemStats), without and after
	// forced collections (the old method), before and with.
	HS0, HS, HSGC0, HSGC int64
	// The runtime's memory as read with the connections (V) and before
	// (V0), before any forced collection, for the breakdown of RSS.
	V0, V   runtimeStats
	Settle  time.Duration
	Wake    []float64 // µs, first message after idleness
	Publish float64   // ms, /chat publish to every subscriber; 0 if not measured
	Err     string
}

func (x *idleResult) rssPer() float64 { return float64(x.RSS-x.RSS0) / float64(x.N) }
func (x *idleResult) gPer() float64 {
	if x.G < 0 {
		return math.NaN()
	}
	return float64(x.G-x.G0) / float64(x.N)
}
func (x *idleResult) hsPer() float64   { return float64(x.HS-x.HS0) / float64(x.N) }
func (x *idleResult) hsGCPer() float64 { return float64(x.HSGC-x.HSGC0) / float64(x.N) }

// idleRows measures every server at every connection count, each in a
// fresh process.
func (r *run) idleRows(names []string, counts []int) []*idleResult {
	var out []*idleResult
	for _, n := range counts {
		for _, name := range names {
			x := r.idleOnce(name, n)
			if x.Err != "" {
				logf("idle %s %d: %s", name, n, x.Err)
			} else {
				logf("idle %s %d: RSS %.0f B/conn, heap+stack %.0f (after GC %.0f), goroutines %.2f/conn, settle %v",
					name, x.N, x.rssPer(), x.hsPer(), x.hsGCPer(), x.gPer(), x.Settle.Round(100*time.Millisecond))
			}
			out = append(out, x)
		}
	}
	return out
}

func (r *run) idleOnce(name string, want int) *idleResult {
	x := &idleResult{Server: name, Want: want, N: want, G0: -1, G: -1}
	fail := func(err error) *idleResult { x.Err = err.Error(); return x }
	argv, path, mode, err := r.bins.serverArgv(name)
	if err != nil {
		return fail(err)
	}
	s, err := startServer(name, argv, path, mode)
	if err != nil {
		return fail(err)
	}
	id := newSetID("i")
	defer func() {
		// The server goes first, so that the clients do not hold their
		// ports in TIME_WAIT.
		s.stop()
		closeSet(r.workers, id)
	}()
	time.Sleep(300 * time.Millisecond)
	// Baseline: one request of each kind first, so that the debug server's
	// own buffers are in it.
	if _, err := s.vars(); err != nil {
		return fail(err)
	}
	soft, open, err := fdRoom(s.pid())
	if err != nil {
		return fail(err)
	}
	if room := soft - open - 2; want > room {
		x.N = room
		x.FdNote = fmt.Sprintf("%d connections do not fit: the server's descriptor limit is %d and it has %d open before the clients (listener, debug listener, epoll, stdio); measured at %d", want, soft, open, room)
	}
	if x.RSS0, err = rss(s.pid()); err != nil {
		return fail(err)
	}
	v0, err := s.vars()
	if err != nil {
		return fail(err)
	}
	if v0.Goroutines != nil {
		x.G0 = *v0.Goroutines
	}
	x.HS0 = int64(v0.Memstats.HeapInuse + v0.Memstats.StackInuse)
	x.V0 = v0
	if name != "node" {
		s.forceGC()
		vg, err := s.vars()
		if err != nil {
			return fail(err)
		}
		x.HSGC0 = int64(vg.Memstats.HeapInuse + vg.Memstats.StackInuse)
	}

	t0 := time.Now()
	if err := dialSpread(r.workers, len(r.workers), &r.ips, s, id, x.N, mode); err != nil {
		return fail(err)
	}
	if mode == "poll-drain" && x.G0 >= 0 {
		// The generators write the polls without waiting for the server
		// (the answer comes later), so the server may still be reading
		// the last ones: each has a goroutine until it is held. Sample
		// once it holds them all.
		if err := waitGoroutines(s, x.G0+pollSlack, time.Minute); err != nil {
			return fail(err)
		}
	}
	// Settle: RSS within 1 % of the growth over three readings 500 ms
	// apart, at least 2 s after the last handshake, at most 20 s.
	var prev []int64
	for start := time.Now(); ; time.Sleep(500 * time.Millisecond) {
		v, err := rss(s.pid())
		if err != nil {
			return fail(err)
		}
		prev = append(prev, v)
		if len(prev) >= 3 && time.Since(start) >= 2*time.Second {
			last := prev[len(prev)-3:]
			lo, hi := min(last[0], last[1], last[2]), max(last[0], last[1], last[2])
			if float64(hi-lo) <= 0.01*float64(v-x.RSS0) {
				break
			}
		}
		if time.Since(start) > 20*time.Second {
			break
		}
	}
	x.Settle = time.Since(t0)
	if x.RSS, err = rss(s.pid()); err != nil {
		return fail(err)
	}
	v1, err := s.vars()
	if err != nil {
		return fail(err)
	}
	if v1.Goroutines != nil {
		x.G = *v1.Goroutines
	}
	x.HS = int64(v1.Memstats.HeapInuse + v1.Memstats.StackInuse)
	x.V = v1
	if name != "node" {
		s.forceGC()
		vg, err := s.vars()
		if err != nil {
			return fail(err)
		}
		x.HSGC = int64(vg.Memstats.HeapInuse + vg.Memstats.StackInuse)
		x.RSSGC, _ = rss(s.pid())
		r.saveIdleProfiles(s, x.N)
	}
	if name == "chat-poll" && time.Since(t0) >= chatPollTimeout {
		// The first polls may have been answered: the sample would count
		// the clients' new polls and closed connections.
		return fail(fmt.Errorf("the sample came %v after the first poll, not within the server's poll timeout of %v", time.Since(t0).Round(time.Second), chatPollTimeout))
	}

	switch name {
	case "chat-ws", "chat-sse", "chat-ndjson", "chat-poll":
		// One chat message published to every subscriber.
		ms, err := r.publish(s, id, x.N)
		if err != nil {
			return fail(err)
		}
		x.Publish = ms
	default:
		// The first message after idleness, on connections spread over
		// the set, one worker after the other.
		for _, w := range r.workers {
			f, err := w.ask(time.Minute, "wake %s %d 16", id, *wakeCount)
			if err != nil {
				return fail(err)
			}
			for _, s := range f {
				ns, _ := strconv.ParseFloat(s, 64)
				x.Wake = append(x.Wake, ns/1e3)
			}
		}
	}
	return x
}

// pollSlack is how many goroutines more than before the clients a
// server whose polls are all held may have: its poller's workers and
// dispatcher, the hub's waker, net/http's accept loop.
const pollSlack = 16

// waitGoroutines waits until s has at most n goroutines, for at most d.
func waitGoroutines(s *server, n int, d time.Duration) error {
	var g int
	for start := time.Now(); time.Since(start) < d; time.Sleep(200 * time.Millisecond) {
		v, err := s.vars()
		if err != nil {
			return err
		}
		if v.Goroutines == nil {
			return nil
		}
		if g = *v.Goroutines; g <= n {
			return nil
		}
	}
	return fmt.Errorf("the server still had %d goroutines (want at most %d) %v after the last poll was written: not every poll is held", g, n, d)
}

// publish posts one chat message to s and returns the time until every
// subscriber of set id has received it.
func (r *run) publish(s *server, id string, n int) (float64, error) {
	if err := all(r.workers, func(_ int, w *worker) error { _, err := w.ask(time.Minute, "mark %s", id); return err }); err != nil {
		return 0, err
	}
	t0 := time.Now()
	// The demo's chat takes {"nick":…,"text":…}.
	resp, err := debugClient.Post("http://"+s.addr+"/chat", "application/json", strings.NewReader(`{"nick":"results","text":"hello from cmd/results"}`))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return 0, fmt.Errorf("POST /chat: %s", resp.Status)
	}
	gots := make([]int, len(r.workers))
	lasts := make([]int64, len(r.workers))
	err = all(r.workers, func(i int, w *worker) error {
		f, err := w.ask(2*time.Minute, "wait %s 60000", id)
		if err != nil {
			return err
		}
		gots[i], _ = strconv.Atoi(f[0])
		lasts[i], _ = strconv.ParseInt(f[1], 10, 64)
		return nil
	})
	if err != nil {
		return 0, err
	}
	got, last := 0, int64(0)
	for i := range gots {
		got += gots[i]
		last = max(last, lasts[i])
	}
	if got != n {
		return 0, fmt.Errorf("publish: %d of %d subscribers received it", got, n)
	}
	return float64(last-t0.UnixNano()) / 1e6, nil
}

// saveIdleProfiles keeps the server's heap profile (what the idle
// connections hold, as of the last collection) and its goroutines, with
// go tool pprof -top of the heap, in the raw directory.
func (r *run) saveIdleProfiles(s *server, n int) {
	base := filepath.Join(r.raw, fmt.Sprintf("idle-%s-%d", s.row, n))
	if b, err := s.get("/debug/pprof/heap"); err == nil && os.WriteFile(base+"-heap.pb.gz", b, 0o644) == nil {
		bin := s.cmd.Path
		os.WriteFile(base+"-heap.txt", []byte(pprofTop(bin, base+"-heap.pb.gz", false)), 0o644)
	}
	if b, err := s.get("/debug/pprof/goroutine?debug=1"); err == nil {
		os.WriteFile(base+"-goroutines.txt", b, 0o644)
	}
}
