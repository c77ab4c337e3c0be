// Command pushwire serves and tests the web's server-push protocols.
//
// Usage:
//
//	pushwire serve [-addr 127.0.0.1:8080]   the demo: chat over WebSocket, SSE clock at /events
//	pushwire echo  [-addr 127.0.0.1:9001]   a WebSocket echo server on every path
//	pushwire sse   [-json] [-n N] URL       an EventSource client that prints events
//	pushwire ws    [-json] [-H h] URL       a WebSocket client: stdin lines out, messages in
//	pushwire conform server -url URL        test a WebSocket server's conformance
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
  serve   run the demo server (chat at /chat over WebSocket, SSE, long
          polling or iframe streaming; an SSE clock at /events)
  echo    run a WebSocket echo server (conformance target)
  sse     connect to an SSE stream and print its events
  ws      connect to a WebSocket: send lines, print messages
  conform run the conformance harness (server, client, sse-server, sse-client)

Run 'pushwire <command> -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
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
	case "ws":
		return runWS(ctx, args[1:], stdin, stdout, stderr, isTerminal(stdin))
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

// isTerminal reports whether r is a character device, such as a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
