package conformance

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushwire/pushwire/internal/wsecho"
	"github.com/pushwire/pushwire/wsproto"
)

// net/http's HTTP/2 server accepts extended CONNECT (RFC 8441) only when
// the process starts with GODEBUG=http2xconnect=1, so TestH2 re-executes
// the test binary with it to run the TestH2Child tests, which skip
// themselves elsewhere.

const h2ChildEnv = "PUSHWIRE_CONFORMANCE_H2_CHILD"

func skipUnlessH2Child(t *testing.T) {
	t.Helper()
	if os.Getenv(h2ChildEnv) != "1" {
		t.Skip("runs only in the child process that TestH2 starts with GODEBUG=http2xconnect=1")
	}
}

// h2ChildTests are the tests TestH2 expects to pass in the child.
var h2ChildTests = []string{"TestH2ChildServer", "TestH2ChildClient"}

func TestH2(t *testing.T) {
	if os.Getenv(h2ChildEnv) == "1" {
		return
	}
	if testing.Short() {
		t.Skip("re-executes the test binary; skipped in -short mode")
	}
	godebug := "http2xconnect=1"
	if g := os.Getenv("GODEBUG"); g != "" {
		godebug = g + "," + godebug
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestH2Child", "-test.v", "-test.count=1", "-test.timeout=15m")
	cmd.Env = append(os.Environ(), h2ChildEnv+"=1", "GODEBUG="+godebug)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child test process: %v\n%s", err, out)
	}
	for _, name := range h2ChildTests {
		if !bytes.Contains(out, []byte("--- PASS: "+name+" ")) {
			t.Errorf("child did not pass %s:\n%s", name, out)
		}
	}
	if testing.Verbose() {
		t.Logf("child output:\n%s", out)
	}
}

// h2Unit is the time unit of the HTTP/2 runs: the cases share one HTTP/2
// connection, so a case that moves megabytes (15.4.2, 15.5.1) holds up
// the frames of the cases beside it under the connection's flow control
// on a loaded machine; a longer unit only gives a peer more time.
const h2Unit = 5 * time.Second

// newH2TLSServer starts h on an HTTP/2 TLS loopback server.
func newH2TLSServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// TestH2ChildServer runs the server catalogue over HTTP/2 (RFC 8441)
// against pushwire's echo server, with -strict: every case OK or
// INFORMATIONAL, the HTTP/2 handshake cases (15.6.x) run and the HTTP/1.1
// ones (15.1.x) left out.
func TestH2ChildServer(t *testing.T) {
	skipUnlessH2Child(t)
	const limit = 16 << 20
	srv := newH2TLSServer(t, wsproto.Handler(&wsproto.AcceptOptions{ReadLimit: limit, InsecureSkipOriginCheck: true, Compression: &wsproto.CompressionOptions{}},
		func(c *wsproto.Conn, r *http.Request) {
			if r.ProtoMajor != 2 {
				t.Errorf("a case came over %s, want HTTP/2", r.Proto)
			}
			echoConn(c)
		}))
	rep, err := RunServer(context.Background(), &Options{
		URL:       srv.URL + "/",
		Agent:     "pushwire-h2",
		Exclude:   ciExclude,
		Parallel:  8,
		ReadLimit: limit,
		Strict:    true,
		Timeout:   h2Unit,
		TLSConfig: srv.Client().Transport.(*http.Transport).TLSClientConfig,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkStrict(t, rep)
	var h2Cases, h1Cases int
	for _, r := range rep.Results {
		switch {
		case strings.HasPrefix(r.ID, "15.6."):
			h2Cases++
		case strings.HasPrefix(r.ID, "15.1."):
			h1Cases++
		}
	}
	if h2Cases != 6 || h1Cases != 0 {
		t.Errorf("ran %d cases of 15.6 and %d of 15.1, want 6 and 0", h2Cases, h1Cases)
	}
	if want := len(selectCases(catalogue(roleServer), nil, ciExclude)) - 15; len(rep.Results) != want {
		t.Errorf("ran %d cases, want %d (all but 9, 12, 13 and 15.1)", len(rep.Results), want)
	}
}

// TestH2ChildClient serves the client catalogue over HTTP/2: pushwire's
// client opens every case as an extended CONNECT stream of one HTTP/2
// connection (DialOptions.HTTPClient), offering permessage-deflate, and
// echoes; every case OK or INFORMATIONAL with -strict.
func TestH2ChildClient(t *testing.T) {
	skipUnlessH2Child(t)
	fs, err := NewFuzzingServer(&Options{Exclude: ciExclude, Timeout: h2Unit, Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	var protos sync.Map
	srv := newH2TLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		protos.Store(r.Proto, true)
		fs.ServeHTTP(w, r)
	}))
	client := srv.Client()
	base := "wss" + strings.TrimPrefix(srv.URL, "https")
	ctx := context.Background()
	opts := &wsproto.DialOptions{ReadLimit: 64 << 20, HTTPClient: client, Compression: &wsproto.CompressionOptions{}}
	c, _, err := wsproto.Dial(ctx, base+"/getCaseCount", opts)
	if err != nil {
		t.Fatal(err)
	}
	_, msg, err := c.Read(ctx, nil)
	c.CloseNow()
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(string(msg))
	if err != nil || n != fs.CaseCount() {
		t.Fatalf("getCaseCount = %q, want %d", msg, fs.CaseCount())
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := 1; i <= n; i++ {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, _, err := wsproto.Dial(ctx, fmt.Sprintf("%s/runCase?case=%d&agent=pushwire-h2", base, i), opts)
			if err != nil {
				t.Errorf("case %d: %v", i, err)
				return
			}
			defer c.CloseNow()
			wsecho.Loop(ctx, c)
		})
	}
	wg.Wait()
	rep := fs.Report("pushwire-h2")
	if rep == nil || len(rep.Results) != n {
		t.Fatalf("report %v, want %d results", rep, n)
	}
	checkStrict(t, rep)
	for _, r := range rep.Results {
		if r.Worst() == Unimplemented {
			t.Errorf("case %s UNIMPLEMENTED: %s", r.ID, r.BehaviorReason)
		}
	}
	protos.Range(func(k, _ any) bool {
		if k != "HTTP/2.0" {
			t.Errorf("a request came over %v, want HTTP/2.0 only", k)
		}
		return true
	})
	client.CloseIdleConnections()
}
