package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/pushwire/pushwire/wsproto"
)

// runEcho implements `pushwire echo`: a WebSocket echo server on every path.
func runEcho(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9001", "address to listen on")
	limit := fs.Int64("limit", 64<<20, "read limit in bytes (largest message)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "pushwire echo: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "pushwire echo: listening on ws://%s/\n", ln.Addr())
	return serveUntilDone(ctx, ln, echoHandler(*limit), stderr)
}

// echoHandler returns a handler that sends every message back with its type.
func echoHandler(limit int64) http.Handler {
	opts := &wsproto.AcceptOptions{ReadLimit: limit, InsecureSkipOriginCheck: true}
	return wsproto.Handler(opts, func(c *wsproto.Conn) {
		ctx := context.Background()
		var buf []byte
		for {
			typ, msg, err := c.Read(ctx, buf)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, msg); err != nil {
				return
			}
			buf = msg
		}
	})
}

// serveUntilDone serves h on ln until ctx ends, then shuts down.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler, stderr io.Writer) int {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "pushwire: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintf(stderr, "pushwire: shutdown: %v\n", err)
	}
	return 0
}
