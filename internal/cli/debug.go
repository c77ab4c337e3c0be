package cli

import (
	"context"
	"expvar"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"sync"
)

// addDebugFlag adds -debug-addr to the flags of serve and echo.
func addDebugFlag(fs *flag.FlagSet) *string {
	return fs.String("debug-addr", "", "serve runtime figures on this address (e.g. 127.0.0.1:6060): expvar at /debug/vars (memstats, goroutines) and pprof at /debug/pprof/; off when empty. Loopback only: profiles reveal the process")
}

var publishGoroutines sync.Once

// debugMux serves expvar, with a goroutines variable beside memstats and
// cmdline, and pprof.
func debugMux() *http.ServeMux {
	publishGoroutines.Do(func() {
		expvar.Publish("goroutines", expvar.Func(func() any { return runtime.NumGoroutine() }))
	})
	mux := http.NewServeMux()
	mux.Handle("/debug/vars", expvar.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// startDebug serves debugMux on addr, unless addr is empty, and announces
// it on stdout as "<cmd>: debug on http://ADDR/". The returned function
// stops it.
func startDebug(cmd, addr string, stdout io.Writer) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug address: %w", err)
	}
	fmt.Fprintf(stdout, "pushwire %s: debug on http://%s/\n", cmd, ln.Addr())
	srv := &http.Server{Handler: debugMux()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	return func() {
		srv.Shutdown(context.Background())
		<-done
	}, nil
}
