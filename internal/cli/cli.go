// Package cli is the pushwire command, which serves and tests the web's
// server-push protocols. cmd/pushwire's main calls Main with the engines it
// links; the command lives here, in the main module, so that its tests run
// with the module's and it needs no dependency beyond the module's own.
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
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/pushwire/pushwire/hub"
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

// EngineFunc opens the hub engine that `serve -engine URL` names.
type EngineFunc func(ctx context.Context, url string) (hub.Engine, error)

// Config is what a binary links into the command. A nil *Config means
// none of it.
type Config struct {
	// Engines maps a URL scheme (such as "nats" or "redis") to the
	// engine that `serve -engine SCHEME://...` opens. Without one, serve
	// keeps its chat in memory.
	Engines map[string]EngineFunc
}

// Main runs the command line args (without the program name) until ctx is
// done, printing to stdout and stderr, and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, cfg *Config) int {
	if cfg == nil {
		cfg = &Config{}
	}
	return run(ctx, args, os.Stdin, stdout, stderr, cfg)
}

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, cfg *Config) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr, cfg)
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

// parseFlags parses args into fs and checks that nargs arguments follow
// the flags; when either fails it says the exit code: 0 after -h (fs has
// printed the usage), 2 for bad flags or a wrong number of arguments (fs
// or this function has said why).
func parseFlags(fs *flag.FlagSet, args []string, nargs int) (ok bool, code int) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return false, 0
		}
		return false, 2
	}
	switch {
	case fs.NArg() == nargs:
		return true, 0
	case fs.NArg() > nargs && nargs == 0:
		fmt.Fprintf(fs.Output(), "pushwire %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
	default:
		fs.Usage()
	}
	return false, 2
}
