// Command pushwire serves and tests the web's server-push protocols.
//
// Usage:
//
//	pushwire serve [-addr 127.0.0.1:8080] [-engine nats://HOST:PORT | redis://HOST:PORT]
//	                                        the demo: chat over WebSocket, SSE clock at /events
//	pushwire echo  [-addr 127.0.0.1:9001]   a WebSocket echo server on every path
//	pushwire sse   [-json] [-n N] URL       an EventSource client that prints events
//	pushwire ws    [-json] [-H h] URL       a WebSocket client: stdin lines out, messages in
//	pushwire conform server -url URL        test a WebSocket server's conformance
//
// serve and echo take -debug-addr 127.0.0.1:PORT to serve runtime figures
// for measurements (expvar at /debug/vars with memstats and goroutines,
// pprof at /debug/pprof/); it is off by default.
//
// The command itself is github.com/pushwire/pushwire/internal/cli, in the
// main module. This package is a module of its own only so that it can
// link the engines, which have dependencies the main module must not have:
// -engine nats://HOST:PORT keeps the chat log in NATS JetStream
// (engines/jetstream), -engine redis://HOST:PORT in Redis Streams
// (engines/redis; rediss:// for TLS), so that several serve nodes share
// it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/pushwire/pushwire/engines/jetstream"
	"github.com/pushwire/pushwire/engines/redis"
	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/internal/cli"
)

// config is what this binary links in: the engines of -engine.
var config = &cli.Config{Engines: map[string]cli.EngineFunc{
	"nats": func(ctx context.Context, url string) (hub.Engine, error) {
		return jetstream.Connect(url, nil)
	},
	"redis": func(ctx context.Context, url string) (hub.Engine, error) {
		return redis.Connect(url, nil)
	},
	"rediss": func(ctx context.Context, url string) (hub.Engine, error) {
		return redis.Connect(url, nil)
	},
}}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, config)
	stop()
	os.Exit(code)
}
