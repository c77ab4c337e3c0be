// Command results measures pushwire and the other Go WebSocket and SSE
// libraries side by side on the same workloads, in one run, and writes
// RESULTS.md and one SVG bar chart per workload under results/.
//
// Usage, from peers/:
//
//	go run ./cmd/results [-reps 3] [-conns 10000] [-zconns 2000] [-only pushwire,gorilla] [-skip zecho,ssefan] [-cpuprofile f] [-childprof dir]
//
// Every figure is the median of short interleaved repetitions, so that noise
// from other work on the machine hits every implementation alike. All traffic
// stays on 127.0.0.0/8.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sse "github.com/tmaxmax/go-sse"

	"github.com/pushwire/pushwire/peers"
	"github.com/pushwire/pushwire/sseproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

var (
	reps       = flag.Int("reps", 3, "interleaved repetitions per figure (median reported)")
	idleConns  = flag.Int("conns", 10000, "connections for the memory, broadcast and SSE fan-out workloads")
	zConns     = flag.Int("zconns", 2000, "connections for the memory workload with compression")
	echoDur    = flag.Duration("echo", time.Second, "duration of one echo repetition")
	only       = flag.String("only", "", "comma-separated implementations to measure (default all)")
	skip       = flag.String("skip", "", "comma-separated workloads to skip: echo,zecho,read,mem,zmem,sse,ssefan")
	cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	childprof  = flag.String("childprof", "", "directory where each server child process writes a CPU profile, <name>.prof")
	out        = flag.String("o", ".", "directory for RESULTS.md and results/")
	child      = flag.String("child", "", "internal: serve one implementation for the memory workloads")
)

func main() {
	flag.Parse()
	raiseFileLimit()
	if *child != "" && *childprof != "" {
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
	if *child != "" {
		runChild(*child)
		return
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	impls := selected()
	r := &report{}
	start := time.Now()
	if !skipped("echo") {
		echoWorkloads(r, impls)
	}
	if !skipped("zecho") {
		compressedEchoWorkloads(r, impls)
	}
	if !skipped("read") {
		readWorkloads(r, impls)
	}
	if !skipped("mem") {
		memWorkloads(r, impls)
	}
	if !skipped("zmem") {
		compressedMemWorkload(r, impls)
	}
	if !skipped("sse") {
		sseWorkloads(r)
	}
	if !skipped("ssefan") {
		sseFanWorkloads(r)
	}
	r.elapsed = time.Since(start)
	check(r.write(*out))
	fmt.Fprintf(os.Stderr, "done in %v\n", r.elapsed.Round(time.Second))
}

func skipped(w string) bool { return slices.Contains(strings.Split(*skip, ","), w) }

func selected() []*peers.Impl {
	var out []*peers.Impl
	for _, im := range peers.Impls() {
		if *only == "" || slices.Contains(strings.Split(*only, ","), im.Name) {
			out = append(out, im)
		}
	}
	return out
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "results:", err)
		os.Exit(1)
	}
}

func logf(format string, a ...any) { fmt.Fprintf(os.Stderr, format+"\n", a...) }

func raiseFileLimit() {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur < rl.Max {
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

// rotate returns impls starting at i, so that repetitions interleave and no
// implementation always runs first.
func rotate[T any](xs []T, i int) []T {
	i %= len(xs)
	return append(slices.Clone(xs[i:]), xs[:i]...)
}

// serve starts h on a fresh loopback listener.
func serve(h http.Handler) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	return ln.Addr().String(), func() { srv.Close() }
}

func echoWorkloads(r *report, impls []*peers.Impl) {
	addrs := map[string]string{}
	for _, im := range impls {
		mux := http.NewServeMux()
		mux.Handle("/echo", im.Echo(false))
		a, stop := serve(mux)
		defer stop()
		addrs[im.Name] = a
	}
	for _, size := range []int{16, 1 << 10, 64 << 10, 1 << 20} {
		window := 32
		switch {
		case size >= 1<<20:
			window = 2
		case size >= 64<<10:
			window = 8
		}
		for _, conns := range []int{1, 100} {
			w := &workload{
				title: fmt.Sprintf("Server echo, %s messages, %d connection(s)", sizeName(size), conns),
				file:  fmt.Sprintf("echo-%s-%dc", sizeName(size), conns),
				unit:  "msgs/s", higher: true,
				note: fmt.Sprintf("raw-socket load generator, %d messages in flight per connection, binary, %v per repetition; MB/s = msgs/s × %d B", window, *echoDur, size),
				mbps: float64(size) / 1e6,
			}
			for rep := range *reps {
				for _, im := range rotate(impls, rep) {
					n, err := echoLoad(addrs[im.Name], size, conns, window, *echoDur)
					if err != nil {
						logf("echo %s %d B %d conns: %v", im.Name, size, conns, err)
						w.fail(im.Name, err)
						continue
					}
					w.add(im.Name, float64(n)/echoDur.Seconds())
				}
			}
			logf("%s: %s", w.title, w.summary())
			r.add(w)
		}
	}
}

func readWorkloads(r *report, impls []*peers.Impl) {
	for _, size := range []int{16, 1 << 10, 64 << 10} {
		n := min(200000, (128<<20)/size)
		addr, stop, err := frameServer(size, n)
		check(err)
		w := &workload{
			title: fmt.Sprintf("Client read, %s messages", sizeName(size)),
			file:  "read-" + sizeName(size),
			unit:  "msgs/s", higher: true,
			note: fmt.Sprintf("each library's client reads %d pre-encoded server frames from a raw socket", n),
			mbps: float64(size) / 1e6,
		}
		for rep := range *reps {
			for _, im := range rotate(impls, rep) {
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				t0 := time.Now()
				_, err := im.ReadClient(ctx, "ws://"+addr+"/", n)
				d := time.Since(t0)
				cancel()
				if err != nil {
					w.fail(im.Name, err)
					continue
				}
				w.add(im.Name, float64(n)/d.Seconds())
			}
		}
		stop()
		logf("%s: %s", w.title, w.summary())
		r.add(w)
	}
}

// childProc is a child process serving one implementation.
type childProc struct {
	cmd  *exec.Cmd
	in   *bufio.Writer
	out  *bufio.Scanner
	addr string
}

func startChild(name string) *childProc {
	exe, err := os.Executable()
	check(err)
	cmd := exec.Command(exe, "-child", name, "-childprof", *childprof)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	check(err)
	outp, err := cmd.StdoutPipe()
	check(err)
	check(cmd.Start())
	c := &childProc{cmd: cmd, in: bufio.NewWriter(in), out: bufio.NewScanner(outp)}
	c.addr = strings.TrimPrefix(c.ask(""), "addr ")
	return c
}

// ask sends a command (none if empty) and returns the next output line.
func (c *childProc) ask(cmd string) string {
	if cmd != "" {
		fmt.Fprintln(c.in, cmd)
		c.in.Flush()
	}
	done := make(chan string, 1)
	go func() {
		if c.out.Scan() {
			done <- c.out.Text()
		} else {
			done <- "error child ended"
		}
	}()
	select {
	case l := <-done:
		return l
	case <-time.After(2 * time.Minute):
		c.cmd.Process.Kill()
		return "error timeout"
	}
}

func (c *childProc) stop() {
	if *childprof != "" {
		// Let the child flush its profile.
		c.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { c.cmd.Wait(); close(done) }()
		select {
		case <-done:
			return
		case <-time.After(5 * time.Second):
		}
	}
	c.cmd.Process.Kill()
	c.cmd.Wait()
}

// stopProfileOnSignal stops the CPU profile and exits on SIGTERM.
func stopProfileOnSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	go func() {
		<-ch
		pprof.StopCPUProfile()
		os.Exit(0)
	}()
}

func fields(l string) []float64 {
	var out []float64
	for _, f := range strings.Fields(l)[1:] {
		v, _ := strconv.ParseFloat(f, 64)
		out = append(out, v)
	}
	return out
}

func memWorkloads(r *report, impls []*peers.Impl) {
	n := *idleConns
	mem := &workload{
		title: fmt.Sprintf("Memory per idle connection, %d connections", n),
		file:  "memory-idle", unit: "bytes/conn",
		note: "(heap in use + stack in use) growth / connections after a forced GC, server in its own process, idiomatic echo server",
	}
	gor := &workload{title: fmt.Sprintf("Goroutines per idle connection, %d connections", n), file: "goroutines-idle", unit: "goroutines/conn"}
	bc := &workload{
		title: fmt.Sprintf("Broadcast of one 1 KiB message to %d connections", n),
		file:  "broadcast", unit: "ms",
		note: "time from the send call until every raw client has read the frame; prepared message where the library has one, 8 writer goroutines",
	}
	bcAlloc := &workload{title: fmt.Sprintf("Broadcast allocations, %d connections", n), file: "broadcast-allocs", unit: "bytes allocated"}
	for i, im := range impls {
		c := startChild(im.Name)
		base := fields(c.ask("mem"))
		conns, _, err := dialMany(c.addr, "/echo", n, i*3)
		if err != nil {
			mem.fail(im.Name, err)
			c.stop()
			continue
		}
		time.Sleep(500 * time.Millisecond)
		m := fields(c.ask("mem"))
		mem.add(im.Name, (m[0]+m[1]-base[0]-base[1])/float64(n))
		gor.add(im.Name, (m[2]-base[2])/float64(n))
		closeAll(conns)
		logf("%s: %s idle %.0f B/conn, %.2f goroutines/conn", mem.title, im.Name, (m[0]+m[1]-base[0]-base[1])/float64(n), (m[2]-base[2])/float64(n))

		conns, brs, err := dialMany(c.addr, "/bc", n, i*3+1)
		if err != nil {
			bc.fail(im.Name, err)
			c.stop()
			continue
		}
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if f := fields(c.ask("count")); len(f) > 0 && int(f[0]) == n {
				break
			}
		}
		for range *reps {
			var got atomic.Int64
			var wg sync.WaitGroup
			for j := range conns {
				wg.Go(func() {
					conns[j].SetReadDeadline(time.Now().Add(30 * time.Second))
					if _, err := skipMessage(brs[j], new([frame.MaxHeaderSize]byte)); err == nil {
						got.Add(1)
					}
				})
			}
			t0 := time.Now()
			res := fields(c.ask("bc"))
			wg.Wait()
			d := time.Since(t0)
			if got.Load() != int64(n) {
				bc.fail(im.Name, fmt.Errorf("%d of %d received", got.Load(), n))
				break
			}
			bc.add(im.Name, float64(d.Microseconds())/1000)
			bcAlloc.add(im.Name, res[1])
		}
		closeAll(conns)
		c.stop()
		logf("%s: %s %s", bc.title, im.Name, bc.summary())
	}
	r.add(mem)
	r.add(gor)
	r.add(bc)
	r.add(bcAlloc)
}

// runChild serves one implementation and answers commands on stdin:
// mem (heap in use, stack in use, goroutines), count (broadcast group
// size), bc (broadcast 1 KiB; mallocs and bytes allocated).
func runChild(name string) {
	var im *peers.Impl
	for _, x := range peers.Impls() {
		if x.Name == name {
			im = x
		}
	}
	if im == nil {
		check(fmt.Errorf("unknown implementation %q", name))
	}
	mux := http.NewServeMux()
	idle := im.Echo(false)
	if im.Idle != nil {
		idle = im.Idle()
	}
	mux.Handle("/echo", idle)
	bh, send, count := im.Broadcast()
	mux.Handle("/bc", bh)
	for _, z := range zServers([]*peers.Impl{im}) {
		mux.Handle("/z/"+z.name, z.echo())
	}
	addr, _ := serve(mux)
	fmt.Println("addr", addr)
	msg := bytes.Repeat([]byte("b"), 1<<10)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "mem":
			runtime.GC()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Println("mem", ms.HeapInuse, ms.StackInuse, runtime.NumGoroutine())
		case "count":
			fmt.Println("count", count())
		case "bc":
			var a, b runtime.MemStats
			runtime.ReadMemStats(&a)
			err := send(msg)
			runtime.ReadMemStats(&b)
			if err != nil {
				fmt.Fprintln(os.Stderr, "broadcast:", err)
			}
			fmt.Println("bc", b.Mallocs-a.Mallocs, b.TotalAlloc-a.TotalAlloc)
		}
	}
}

// sseStream is a text/event-stream body of events like those of a live feed.
func sseStream() []byte {
	var b bytes.Buffer
	enc := sseproto.NewEncoder(&b)
	for i := 0; b.Len() < 8<<20; i++ {
		ev := sseproto.Event{ID: strconv.Itoa(i), Data: fmt.Sprintf(`{"seq":%d,"price":%d.%02d,"symbol":"PUSH","note":"%s"}`, i, 100+i%50, i%100, strings.Repeat("x", i%64))}
		if i%4 == 0 {
			ev.Type = "trade"
			ev.Data += "\nsecond line"
		}
		check(enc.Encode(ev))
	}
	return b.Bytes()
}

func sseWorkloads(r *report) {
	stream := sseStream()
	w := &workload{
		title: "SSE decoder throughput",
		file:  "sse-decode", unit: "MB/s", higher: true,
		note: fmt.Sprintf("the same %.1f MB stream parsed in memory by pushwire's Decoder and go-sse's Read", float64(len(stream))/1e6),
	}
	decoders := []struct {
		name string
		run  func() int
	}{
		{"pushwire", func() int {
			d := sseproto.NewDecoder(bytes.NewReader(stream), nil)
			n := 0
			for {
				if _, err := d.Next(); err != nil {
					return n
				}
				n++
			}
		}},
		{"go-sse", func() int {
			n := 0
			for _, err := range sse.Read(bytes.NewReader(stream), nil) {
				if err != nil {
					return n
				}
				n++
			}
			return n
		}},
	}
	counts := map[string]int{}
	for rep := range *reps * 3 {
		for _, d := range rotate(decoders, rep) {
			t0 := time.Now()
			counts[d.name] = d.run()
			w.add(d.name, float64(len(stream))/1e6/time.Since(t0).Seconds())
		}
	}
	if counts["pushwire"] != counts["go-sse"] {
		w.note += fmt.Sprintf("; EVENT COUNTS DIFFER: pushwire %d, go-sse %d", counts["pushwire"], counts["go-sse"])
	}
	logf("%s: %s", w.title, w.summary())
	r.add(w)
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
