// Command pushwire serves and tests the web's server-push protocols.
//
// Usage:
//
//	pushwire serve [-addr 127.0.0.1:8080]   the demo: chat over WebSocket, SSE clock at /events
//	pushwire echo  [-addr 127.0.0.1:9001]   a WebSocket echo server on every path
//	pushwire sse   [-json] [-n N] URL       an EventSource client that prints events
//	pushwire conform server -url URL        test a WebSocket server's conformance
//
// serve and echo take -debug-addr 127.0.0.1:PORT to serve runtime figures
// for measurements (expvar at /debug/vars with memstats and goroutines,
// pprof at /debug/pprof/); it is off by default.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: pushwire <command> [flags]

commands:
  serve   run the demo server (chat over WebSocket at /ws, SSE at /events)
  echo    run a WebSocket echo server (conformance target)
  sse     connect to an SSE stream and print its events
  conform run the conformance harness (server, client, sse-server, sse-client)

Run 'pushwire <command> -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "echo":
		return runEcho(ctx, args[1:], stdout, stderr)
	case "sse":
		return runSSE(ctx, args[1:], stdout, stderr)
	case "conform":
		return runConform(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "pushwire: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
