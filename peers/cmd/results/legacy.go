package main

// The rows kept from the old method, until they move to server processes
// like the others: compressed echo and memory (compress.go), the SSE
// decoder, and SSE fan-out (ssefan.go). Their servers run inside this
// process (compressed echo) or in a child process of this program (-child),
// and their load comes from this process.

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	sse "github.com/tmaxmax/go-sse"

	"github.com/pushwire/pushwire/peers"
	"github.com/pushwire/pushwire/sseproto"
)

// serve starts h on a fresh loopback listener.
func serve(h http.Handler) (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	return ln.Addr().String(), func() { srv.Close() }
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

func sseWorkloads(r *oldRows) {
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
