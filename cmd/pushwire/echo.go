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
	compress := fs.Bool("compress", true, "accept permessage-deflate (RFC 7692) when the client offers it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "pushwire echo: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "pushwire echo: listening on ws://%s/\n", ln.Addr())
	return serveUntilDone(ctx, ln, echoHandler(*limit, *compress), stderr)
}

// echoHandler returns a handler that sends every message back with its
// type, compressed with permessage-deflate when compress is set and the
// client offers it.
func echoHandler(limit int64, compress bool) http.Handler {
	opts := &wsproto.AcceptOptions{ReadLimit: limit, InsecureSkipOriginCheck: true}
	if compress {
		opts.Compression = &wsproto.CompressionOptions{}
	}
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
	// Requests see a context that Shutdown cancels, so that long-lived
	// responses (event streams, held polls) end instead of holding up the
	// shutdown until its timeout.
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	srv.RegisterOnShutdown(cancelBase)
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
