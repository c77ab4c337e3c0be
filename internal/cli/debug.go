package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/pushwire/pushwire/internal/debugmux"
)

// addDebugFlag adds -debug-addr to the flags of serve and echo.
func addDebugFlag(fs *flag.FlagSet) *string {
	return fs.String("debug-addr", "", "serve runtime figures on this address (e.g. 127.0.0.1:6060): expvar at /debug/vars (memstats, goroutines) and pprof at /debug/pprof/; off when empty. Loopback only: profiles reveal the process")
}

// startDebug serves debugmux.New() on addr, unless addr is empty, and announces
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
	srv := &http.Server{Handler: debugmux.New()}
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
