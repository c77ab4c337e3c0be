package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/pushwire/pushwire/internal/wsecho"
	"github.com/pushwire/pushwire/wsproto"
)

const echoUsage = `usage: pushwire echo [flags]

A WebSocket echo server on every path: each message comes back with its
type, compressed with permessage-deflate when the client offers it. It is
the target of the conformance harness (pushwire conform server) and of
pushwire ws.

Unless the environment sets GOGC or GOMEMLIMIT, the garbage collector runs
at GOGC=50: half the heap headroom per idle connection of the default.

flags:
`

// runEcho implements `pushwire echo`: a WebSocket echo server on every path.
func runEcho(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9001", "address to listen on")
	limit := fs.Int64("limit", 64<<20, "read limit in bytes (largest message)")
	compress := fs.Bool("compress", true, "accept permessage-deflate (RFC 7692) when the client offers it")
	debugAddr := addDebugFlag(fs)
	tf := addTLSFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, echoUsage)
		fs.PrintDefaults()
	}
	if ok, code := parseFlags(fs, args, 0); !ok {
		return code
	}
	defer setServerGC()()
	ln, tlsCfg, stopDebug, ok := listen("echo", *addr, *debugAddr, tf, stdout, stderr, func(ln net.Listener, tlsCfg *tls.Config) {
		fmt.Fprintf(stdout, "pushwire echo: listening on %s://%s/\n", scheme(tlsCfg, "ws"), ln.Addr())
	})
	if !ok {
		return 1
	}
	defer stopDebug()
	return serveHTTP(ctx, ln, echoHandler(*limit, *compress), tlsCfg, nil, stderr)
}

// echoHandler returns a handler that sends every message back with its
// type, compressed with permessage-deflate when compress is set and the
// client offers it.
func echoHandler(limit int64, compress bool) http.Handler {
	opts := &wsproto.AcceptOptions{ReadLimit: limit, InsecureSkipOriginCheck: true}
	if compress {
		opts.Compression = &wsproto.CompressionOptions{}
	}
	return wsproto.Handler(opts, func(c *wsproto.Conn, _ *http.Request) {
		wsecho.Serve(c)
	})
}

// tlsFlags are the -tls, -cert and -key flags of serve and echo.
type tlsFlags struct {
	on        *bool
	cert, key *string
}

func addTLSFlags(fs *flag.FlagSet) tlsFlags {
	return tlsFlags{
		on:   fs.Bool("tls", false, "serve HTTPS with HTTP/2, so that browsers can open WebSockets over HTTP/2 (RFC 8441)"),
		cert: fs.String("cert", "", "TLS certificate file (PEM); with -key; default: a self-signed certificate made at start-up"),
		key:  fs.String("key", "", "TLS key file (PEM)"),
	}
}

// config returns the TLS configuration, or nil without -tls. With -tls it
// first makes sure that the process runs with GODEBUG=http2xconnect=1,
// which net/http's HTTP/2 server needs for WebSockets over HTTP/2 and reads
// only at start-up: if not, the program starts itself again with it.
func (f tlsFlags) config(stdout, stderr io.Writer) (*tls.Config, error) {
	if !*f.on {
		return nil, nil
	}
	if err := ensureXConnect(); err != nil {
		fmt.Fprintf(stderr, "pushwire: %v; WebSockets over HTTP/2 are off, HTTP/1.1 still works\n", err)
	}
	return tlsConfig(*f.cert, *f.key, stdout)
}

// listen makes tf's TLS configuration, listens on addr, calls announce to
// say where to connect, and starts the debug server of debugAddr (see
// startDebug). It reports a failure on stderr as cmd's and returns ok
// false, with nothing left open; stopDebug ends the debug server.
func listen(cmd, addr, debugAddr string, tf tlsFlags, stdout, stderr io.Writer, announce func(net.Listener, *tls.Config)) (ln net.Listener, tlsCfg *tls.Config, stopDebug func(), ok bool) {
	tlsCfg, err := tf.config(stdout, stderr)
	if err == nil {
		ln, err = net.Listen("tcp", addr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "pushwire %s: %v\n", cmd, err)
		return nil, nil, nil, false
	}
	announce(ln, tlsCfg)
	stopDebug, err = startDebug(cmd, debugAddr, stdout)
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "pushwire %s: %v\n", cmd, err)
		return nil, nil, nil, false
	}
	return ln, tlsCfg, stopDebug, true
}

// scheme returns the URL scheme for plain (http, ws) or TLS (https, wss).
func scheme(tlsCfg *tls.Config, plain string) string {
	if tlsCfg != nil {
		return plain + "s"
	}
	return plain
}

// serveUntilDone serves h on ln until ctx ends, then shuts down.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler, stderr io.Writer) int {
	return serveHTTP(ctx, ln, h, nil, nil, stderr)
}

// serveHTTP serves h on ln, with TLS when tlsCfg is set, until ctx ends;
// then it calls beforeShutdown, when set, and shuts the server down.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, tlsCfg *tls.Config, beforeShutdown func(context.Context), stderr io.Writer) int {
	// Requests see a context that Shutdown cancels, so that long-lived
	// responses (event streams, held polls) end instead of holding up the
	// shutdown until its timeout.
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := newHTTPServer(h, defaultTimeouts, base)
	srv.TLSConfig = tlsCfg
	srv.RegisterOnShutdown(cancelBase)
	errc := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "pushwire: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if beforeShutdown != nil {
		beforeShutdown(sctx)
	}
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintf(stderr, "pushwire: shutdown: %v\n", err)
	}
	return 0
}
