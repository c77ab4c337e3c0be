// Package benchsrv is the common part of the benchmark programs in
// peers/cmd/peer-*: one small binary per WebSocket library, each linking only
// its own library, that serves the library's plain echo server (and a
// broadcast group) as its own process, or reads messages as the library's
// client. cmd/results drives them with a raw-socket load generator
// (peers/cmd/loadgen).
//
// A program is run as
//
//	peer-X serve [-addr 127.0.0.1:0] [-debug-addr 127.0.0.1:0] [-limit 67108864] [-deflate MODE]
//	peer-X read -url ws://HOST:PORT/ -n N [-cpuprofile FILE]
//
// serve prints one line "peer-X: listening on ws://ADDR/" (and, with
// -debug-addr, "peer-X: debug on http://ADDR/") and serves until SIGTERM or
// SIGINT. Every path but /bc is the echo server (with -deflate takeover or
// -deflate no-context-takeover, the echo server with permessage-deflate
// of Lib.EchoDeflate); /bc adds the connection to
// the broadcast group and reads until it ends. The debug address serves
// /debug/vars (expvar: memstats, cmdline, goroutines), /debug/pprof/, and
// /bench/broadcast (POST, ?size=N: send one binary message of N bytes to the
// group; answers "ns mallocs bytes") and /bench/count (the group's size).
//
// read dials the URL, reads N messages with the library's client and prints
// "read N msgs BYTES bytes in NS ns dial NS ns": the time from the end of
// the handshake to the last message, and the time of the dial.
//
// # Concurrency
//
// The functions of a Lib are called from many goroutines at once.
//
// # Limits
//
// The read limit is -limit (64 MiB by default, the read limit of `pushwire
// echo`). Servers skip the origin check: loopback benchmarks only.
//
// # Security
//
// Test fixtures for loopback only; the debug endpoint exposes profiles and
// must not face a network.
package benchsrv

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	rpprof "runtime/pprof"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/pushwire/pushwire/internal/debugmux"
)

// DefaultLimit is the read limit of every benchmark server, as in `pushwire
// echo`: 64 MiB.
const DefaultLimit = 64 << 20

// Lib is one library's benchmark programs.
type Lib struct {
	// Name is the library's name, as in the tables.
	Name string
	// Echo returns the library's plain echo server: each message is sent
	// back with its type. limit is the read limit in bytes.
	Echo func(limit int64) http.Handler
	// EchoDeflate, when not nil, returns the echo server with
	// permessage-deflate (RFC 7692) accepted in the library's usual mode,
	// or, with noContextTakeover, without context takeover either way;
	// nil when the library has no such mode.
	EchoDeflate func(limit int64, noContextTakeover bool) http.Handler
	// Broadcast returns a handler whose connections join a group and read
	// until they end, a function that sends p to every member, and the
	// group's size.
	Broadcast func(limit int64) (h http.Handler, send func(p []byte) error, count func() int)
	// Read dials url and reads n messages with the library's client,
	// returning the bytes read. It calls opened once the handshake is done.
	Read func(ctx context.Context, url string, n int, opened func()) (int64, error)
}

// Main runs the program for lib; it does not return.
func Main(lib Lib) {
	if len(os.Args) < 2 {
		fmt.Fprintf(os.Stderr, "usage: peer-%s serve|read [flags]\n", lib.Name)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(lib, os.Args[2:])
	case "read":
		err = read(lib, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "peer-%s: %v\n", lib.Name, err)
		os.Exit(1)
	}
}

func serve(lib Lib, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on")
	debugAddr := fs.String("debug-addr", "", "address of the debug endpoint (expvar, pprof, broadcast control); none if empty")
	limit := fs.Int64("limit", DefaultLimit, "read limit in bytes")
	deflate := fs.String("deflate", "", `echo with permessage-deflate: "takeover" (the library's usual mode) or "no-context-takeover"`)
	fs.Parse(args)

	echo := lib.Echo(*limit)
	if *deflate != "" {
		if *deflate != "takeover" && *deflate != "no-context-takeover" || lib.EchoDeflate == nil {
			return fmt.Errorf("-deflate %q: not available", *deflate)
		}
		if echo = lib.EchoDeflate(*limit, *deflate == "no-context-takeover"); echo == nil {
			return fmt.Errorf("-deflate %q: not available", *deflate)
		}
	}
	bh, send, count := lib.Broadcast(*limit)
	mux := http.NewServeMux()
	mux.Handle("/bc", bh)
	mux.Handle("/", echo)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("peer-%s: listening on ws://%s/\n", lib.Name, ln.Addr())
	if *debugAddr != "" {
		dln, err := net.Listen("tcp", *debugAddr)
		if err != nil {
			return err
		}
		fmt.Printf("peer-%s: debug on http://%s/\n", lib.Name, dln.Addr())
		go http.Serve(dln, DebugMux(send, count))
	}
	// The same server settings as `pushwire echo`.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	return nil
}

// DebugMux returns the debug endpoint (internal/debugmux: expvar with a
// goroutines variable, pprof) and, when send is not nil, the broadcast control.
func DebugMux(send func([]byte) error, count func() int) *http.ServeMux {
	mux := debugmux.New()
	if send == nil {
		return mux
	}
	mux.HandleFunc("POST /bench/broadcast", func(w http.ResponseWriter, r *http.Request) {
		size, err := strconv.Atoi(r.URL.Query().Get("size"))
		if err != nil || size < 0 {
			http.Error(w, "size", http.StatusBadRequest)
			return
		}
		msg := bytes.Repeat([]byte("b"), size)
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		t0 := time.Now()
		err = send(msg)
		d := time.Since(t0)
		runtime.ReadMemStats(&b)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%d %d %d\n", d.Nanoseconds(), b.Mallocs-a.Mallocs, b.TotalAlloc-a.TotalAlloc)
	})
	mux.HandleFunc("GET /bench/count", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d\n", count())
	})
	return mux
}

func read(lib Lib, args []string) error {
	fs := flag.NewFlagSet("read", flag.ExitOnError)
	url := fs.String("url", "", "ws:// URL of a server that streams binary frames")
	n := fs.Int("n", 100000, "messages to read")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the read to this file")
	fs.Parse(args)
	if *url == "" {
		return errors.New("read: -url is required")
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := rpprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer rpprof.StopCPUProfile()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t0 := time.Now()
	var t1 time.Time
	total, err := lib.Read(ctx, *url, *n, func() { t1 = time.Now() })
	t2 := time.Now()
	if err != nil {
		return err
	}
	fmt.Printf("read %d msgs %d bytes in %d ns dial %d ns\n", *n, total, t2.Sub(t1).Nanoseconds(), t1.Sub(t0).Nanoseconds())
	return nil
}

// Group is a set of connections for broadcast servers.
type Group[T comparable] struct {
	mu sync.Mutex
	m  map[T]struct{}
}

// Add adds c.
func (g *Group[T]) Add(c T) {
	g.mu.Lock()
	if g.m == nil {
		g.m = make(map[T]struct{})
	}
	g.m[c] = struct{}{}
	g.mu.Unlock()
}

// Remove removes c.
func (g *Group[T]) Remove(c T) {
	g.mu.Lock()
	delete(g.m, c)
	g.mu.Unlock()
}

// List returns the members.
func (g *Group[T]) List() []T {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]T, 0, len(g.m))
	for c := range g.m {
		out = append(out, c)
	}
	return out
}

// Len returns the number of members.
func (g *Group[T]) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.m)
}

// FanOut calls write for every connection from 8 goroutines, the way a
// broadcasting server spreads writes over the cores.
func FanOut[T any](conns []T, write func(T) error) error {
	const workers = 8
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(conns); i += workers {
				if err := write(conns[i]); err != nil && errs[w] == nil {
					errs[w] = err
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
