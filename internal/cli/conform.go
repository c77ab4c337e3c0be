package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pushwire/pushwire/conformance"
	"github.com/pushwire/pushwire/internal/wsecho"
	"github.com/pushwire/pushwire/wsproto"
)

const conformUsage = `usage: pushwire conform <role> [flags]

roles:
  server      -url ws://HOST:PORT/path    test a WebSocket server (one connection per case);
                                          an https:// URL runs the cases over HTTP/2 (RFC 8441)
  client      [-addr 127.0.0.1:9001]      serve the cases to a WebSocket client under test
                                          (Autobahn fuzzing-server endpoints); -self tests pushwire's client;
                                          -tls serves them over HTTPS, HTTP/2 included (RFC 8441)
  sse-server  -url http://HOST/path       test a Server-Sent Events server
  sse-client  [-addr 127.0.0.1:9002]      serve event streams to an SSE client under test

The WebSocket catalogue is Autobahn|Testsuite's (categories 1-13, its ids,
payloads, timing and grading) plus pushwire's own cases (15.x, 16.x).
'pushwire conform <role> -list' prints a role's cases; 'pushwire conform
<role> -h' its flags and examples. The exit code is 0 when no case is
FAILED or NON-STRICT, 1 otherwise, 2 on bad usage.
`

// Examples shown by each role's -h.
const (
	serverExamples = `
examples:
  pushwire echo -addr 127.0.0.1:9001 &
  pushwire conform server -url ws://127.0.0.1:9001/ -limit 67108864 -agent pushwire
  pushwire conform server -url ws://127.0.0.1:9001/ -cases '6.*,7.7.1' -strict
  pushwire conform server -url ws://127.0.0.1:9001/ -cases '12.*,13.*'     (permessage-deflate only)
  pushwire echo -addr 127.0.0.1:9443 -tls &
  pushwire conform server -url https://127.0.0.1:9443/ -insecure -limit 67108864   (over HTTP/2, RFC 8441)
  pushwire conform server -list
`
	clientExamples = `
examples:
  pushwire conform client -addr 127.0.0.1:9001 -report reports/clients
      then point the client under test at ws://127.0.0.1:9001 (/getCaseCount,
      /runCase?case=N&agent=NAME, /updateReports?agent=NAME)
  pushwire conform client -self
  pushwire conform client -self -tls        (pushwire's client over HTTP/2, RFC 8441)
  pushwire conform client -tls -addr 127.0.0.1:9443
      then point the client under test at wss://127.0.0.1:9443 (a self-signed
      certificate); HTTP/2 clients open each case with an extended CONNECT
  pushwire conform client -list
`
	sseServerExamples = `
examples:
  pushwire serve &
  pushwire conform sse-server -url http://127.0.0.1:8080/events
  pushwire conform sse-server -url http://127.0.0.1:8080/events -cases '1.*' -report reports/sse-server
  pushwire conform sse-server -list
`
	sseClientExamples = `
examples:
  pushwire conform sse-client -addr 127.0.0.1:9002 &
  curl -s http://127.0.0.1:9002/cases
      then, for each case, run the client under test on its URL and POST what it
      dispatched (JSON lines {"type","data","lastEventId"}) to /report/ID?agent=NAME;
      pushwire's own client does it as:
  pushwire sse -json 'http://127.0.0.1:9002/stream/1.1?agent=pushwire' |
      curl -s --data-binary @- 'http://127.0.0.1:9002/report/1.1?agent=pushwire'
  curl -s 'http://127.0.0.1:9002/updateReports?agent=pushwire'   (writes the report)
  pushwire conform sse-client -list
`
)

// runConform implements `pushwire conform <server|client|sse-server|sse-client> [flags]`; args exclude "conform"; returns the exit code.
func runConform(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, conformUsage)
		return 2
	}
	switch args[0] {
	case "server":
		return conformServer(ctx, args[1:], stdout, stderr)
	case "client":
		return conformClient(ctx, args[1:], stdout, stderr)
	case "sse-server":
		return conformSSEServer(ctx, args[1:], stdout, stderr)
	case "sse-client":
		return conformSSEClient(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, conformUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "pushwire conform: unknown role %q\n\n%s", args[0], conformUsage)
		return 2
	}
}

// commonFlags are the flags every role has.
type commonFlags struct {
	role           conformance.Role
	cases, exclude string
	parallel       int
	timeout        time.Duration
	strict         bool
	testData       string
	report         string
	agent          string
	quiet          bool
	list           bool
}

func (c *commonFlags) register(fs *flag.FlagSet, role conformance.Role, defReport, examples string) {
	c.role = role
	fs.StringVar(&c.cases, "cases", "", "comma-separated case `patterns` to run, such as '6.*,7.7.1' (default: all)")
	fs.StringVar(&c.exclude, "exclude", "", "comma-separated case `patterns` to leave out, such as '9.*,12.*,13.*'")
	fs.IntVar(&c.parallel, "parallel", 4, "cases run at once")
	fs.StringVar(&c.report, "report", defReport, "write index.json, per-case JSON and index.html under `dir` (empty: none)")
	fs.StringVar(&c.agent, "agent", "", "name of the implementation under test in the report")
	fs.BoolVar(&c.quiet, "q", false, "no progress line")
	fs.BoolVar(&c.list, "list", false, "print the role's case ids and descriptions, and exit")
	if role == conformance.RoleSSEServer || role == conformance.RoleSSEClient {
		fs.DurationVar(&c.timeout, "timeout", 0, "how long a case waits for each reaction of the peer (default 2s)")
	} else {
		fs.DurationVar(&c.timeout, "timeout", 0, "the length of the cases' one-second unit: Autobahn's timers (killAfter(1), the 1 s closing\nhandshake, ...) scale with it (default 1s, Autobahn's timing)")
		fs.BoolVar(&c.strict, "strict", false, "add pushwire's stricter checks: a SHOULD of the RFC not followed makes an OK grade NON-STRICT")
		fs.StringVar(&c.testData, "testdata", "", "`dir` holding Autobahn's test files (autobahntestsuite/testdata), for byte-exact 12.x/13.x payloads\n(default: stand-ins of the same size and kind)")
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: pushwire conform %s [flags]\n\nflags:\n", role)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), examples)
	}
}

// listCases prints the role's cases, one per line: id and description.
func (c *commonFlags) listCases(stdout io.Writer) int {
	for _, ci := range conformance.Cases(c.role) {
		fmt.Fprintf(stdout, "%-9s %s\n", ci.ID, ci.Description)
	}
	return 0
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (c *commonFlags) options() conformance.Options {
	return conformance.Options{
		Agent:    c.agent,
		Cases:    splitList(c.cases),
		Exclude:  splitList(c.exclude),
		Parallel: c.parallel,
		Timeout:  c.timeout,
		Strict:   c.strict,
		TestData: c.testData,
	}
}

// progress returns a progress callback that rewrites one line on w.
func progress(w io.Writer, quiet bool) func(done, total int, r *conformance.Result) {
	if quiet {
		return nil
	}
	return func(done, total int, r *conformance.Result) {
		fmt.Fprintf(w, "\r[%d/%d] %-8s %-13s close %-13s", done, total, r.ID, r.Behavior, r.BehaviorClose)
		if done == total {
			fmt.Fprintln(w)
		}
	}
}

// finish prints the summary and the cases that are not OK, writes the
// report and returns the exit code.
func finish(rep *conformance.Report, dir string, stdout, stderr io.Writer) int {
	code := 0
	for _, r := range rep.Results {
		if r.Worst() == conformance.Failed || r.Worst() == conformance.NonStrict {
			code = 1
			fmt.Fprintf(stdout, "%-8s %-10s %s\n         close %-10s %s\n", r.ID, r.Behavior, r.BehaviorReason, r.BehaviorClose, r.CloseReason)
		}
	}
	fmt.Fprintf(stdout, "%s (%s): %s\n", rep.Agent, rep.Role, rep.Summary())
	if dir != "" {
		if err := rep.WriteDir(dir); err != nil {
			fmt.Fprintf(stderr, "pushwire conform: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "report: %s\n", filepath.Join(dir, "index.html"))
	}
	return code
}

func conformServer(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conform server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs, conformance.RoleServer, "reports/server", serverExamples)
	u := fs.String("url", "", "ws:// or wss:// `URL` of the server under test, or https:// to run the cases over HTTP/2 (RFC 8441 extended CONNECT)")
	insecure := fs.Bool("insecure", false, "do not verify the server's TLS certificate (for a self-signed one, as 'pushwire echo -tls' makes)")
	limit := fs.Int64("limit", 0, "the server's read limit in `bytes`, for the 1009 cases (pushwire echo: 67108864)")
	origin := fs.String("origin", "", "Origin header to send in the handshakes")
	if ok, code := parseFlags(fs, args, 0); !ok {
		return code
	}
	if c.list {
		return c.listCases(stdout)
	}
	if *u == "" {
		fmt.Fprintln(stderr, "pushwire conform server: -url is required")
		return 2
	}
	opts := c.options()
	opts.URL, opts.ReadLimit = *u, *limit
	if *insecure {
		opts.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	if *origin != "" {
		opts.Header = http.Header{"Origin": {*origin}}
	}
	opts.Progress = progress(stderr, c.quiet)
	rep, err := conformance.RunServer(ctx, &opts)
	if err != nil {
		fmt.Fprintf(stderr, "pushwire conform server: %v\n", err)
		return 2
	}
	return finish(rep, c.report, stdout, stderr)
}

func conformClient(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conform client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs, conformance.RoleClient, "reports/client", clientExamples)
	addr := fs.String("addr", "127.0.0.1:9001", "address to serve the cases on")
	self := fs.Bool("self", false, "run pushwire's own client (wsproto.Dial, echoing) against the cases, then exit")
	compress := fs.Bool("compress", true, "with -self: offer permessage-deflate (RFC 7692)")
	limit := fs.Int64("limit", 0, "the client's read limit in `bytes`, for the 1009 cases (with -self, pushwire's client reads with it; default there 67108864)")
	tf := addTLSFlags(fs)
	if ok, code := parseFlags(fs, args, 0); !ok {
		return code
	}
	if c.list {
		return c.listCases(stdout)
	}
	tlsCfg, err := tf.config(stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "pushwire conform client: %v\n", err)
		return 2
	}
	opts := c.options()
	opts.Progress = progress(stderr, c.quiet)
	opts.ReadLimit = *limit
	if *self && *limit == 0 {
		opts.ReadLimit = selfReadLimit
	}
	fz, err := conformance.NewFuzzingServer(&opts)
	if err != nil {
		fmt.Fprintf(stderr, "pushwire conform client: %v\n", err)
		return 2
	}
	ws := scheme(tlsCfg, "ws")
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "pushwire conform client: %v\n", err)
		return 1
	}
	if !*self {
		fz.OnReport = func(rep *conformance.Report) error {
			if c.report == "" {
				return nil
			}
			return rep.WriteDir(filepath.Join(c.report, rep.Agent))
		}
		fmt.Fprintf(stdout, "pushwire conform client: %d cases at %s://%s (/getCaseCount, /runCase?case=N&agent=NAME, /updateReports?agent=NAME)\n", fz.CaseCount(), ws, ln.Addr())
		return serveHTTP(ctx, ln, fz, tlsCfg, nil, stderr)
	}
	srv := &http.Server{Handler: fz, ReadHeaderTimeout: 10 * time.Second, TLSConfig: tlsCfg}
	var dial *http.Client
	if tlsCfg != nil {
		go srv.ServeTLS(ln, "", "")
		// The self-signed certificate made at start-up, or the one given.
		roots := x509.NewCertPool()
		if leaf, err := x509.ParseCertificate(tlsCfg.Certificates[0].Certificate[0]); err == nil {
			roots.AddCert(leaf)
		}
		dial = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
		defer dial.CloseIdleConnections()
	} else {
		go srv.Serve(ln)
	}
	defer srv.Close()
	agent := c.agent
	if agent == "" {
		agent = "pushwire"
	}
	if err := selfClient(ctx, ws+"://"+ln.Addr().String(), agent, max(c.parallel, 1), opts.ReadLimit, *compress, dial); err != nil {
		fmt.Fprintf(stderr, "pushwire conform client: %v\n", err)
		return 1
	}
	rep := fz.Report(agent)
	if rep == nil {
		fmt.Fprintln(stderr, "pushwire conform client: no case ran")
		return 1
	}
	return finish(rep, c.report, stdout, stderr)
}

// selfReadLimit is the read limit of selfClient's connections when -limit
// does not give one.
const selfReadLimit = 64 << 20

// selfClient is pushwire's client under test: it runs every case at base
// the way an Autobahn client driver does, echoing each message with
// wsproto.Conn, with the read limit limit.
func selfClient(ctx context.Context, base, agent string, parallel int, limit int64, compress bool, h2 *http.Client) error {
	// With h2 set and a wss:// base, every case is a stream of one HTTP/2
	// connection (RFC 8441).
	opts := &wsproto.DialOptions{ReadLimit: limit, HTTPClient: h2}
	if compress {
		opts.Compression = &wsproto.CompressionOptions{}
	}
	c, _, err := wsproto.Dial(ctx, base+"/getCaseCount", opts)
	if err != nil {
		return err
	}
	_, msg, err := c.Read(ctx, nil)
	c.CloseNow()
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(string(msg))
	if err != nil {
		return fmt.Errorf("case count %q: %w", msg, err)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for i := 1; i <= n && ctx.Err() == nil; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, _, err := wsproto.Dial(ctx, fmt.Sprintf("%s/runCase?case=%d&agent=%s", base, i, agent), opts)
			if err != nil {
				return
			}
			defer c.CloseNow()
			wsecho.Loop(ctx, c)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func conformSSEServer(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conform sse-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs, conformance.RoleSSEServer, "reports/sse-server", sseServerExamples)
	u := fs.String("url", "", "http:// or https:// `URL` of the event stream under test")
	if ok, code := parseFlags(fs, args, 0); !ok {
		return code
	}
	if c.list {
		return c.listCases(stdout)
	}
	if *u == "" {
		fmt.Fprintln(stderr, "pushwire conform sse-server: -url is required")
		return 2
	}
	opts := c.options()
	opts.URL = *u
	opts.Progress = progress(stderr, c.quiet)
	rep, err := conformance.RunSSEServer(ctx, &opts)
	if err != nil {
		fmt.Fprintf(stderr, "pushwire conform sse-server: %v\n", err)
		return 2
	}
	return finish(rep, c.report, stdout, stderr)
}

func conformSSEClient(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conform sse-client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs, conformance.RoleSSEClient, "reports/sse-client", sseClientExamples)
	addr := fs.String("addr", "127.0.0.1:9002", "address to serve the event streams on")
	if ok, code := parseFlags(fs, args, 0); !ok {
		return code
	}
	if c.list {
		return c.listCases(stdout)
	}
	opts := c.options()
	opts.Progress = progress(stderr, c.quiet)
	sc, err := conformance.NewSSEClientServer(&opts)
	if err != nil {
		fmt.Fprintf(stderr, "pushwire conform sse-client: %v\n", err)
		return 2
	}
	sc.OnReport = func(rep *conformance.Report) error {
		if c.report == "" {
			return nil
		}
		return rep.WriteDir(filepath.Join(c.report, rep.Agent))
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "pushwire conform sse-client: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "pushwire conform sse-client: %d cases at http://%s/ (GET /cases for the list)\n", sc.CaseCount(), ln.Addr())
	return serveUntilDone(ctx, ln, sc, stderr)
}
