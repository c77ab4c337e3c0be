package peers

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/conformance"
	"github.com/pushwire/pushwire/wsproto"
)

// autobahnShort is Autobahn's catalogue without its long categories
// (limits and compression, minutes each).
var autobahnShort = conformance.Options{
	Cases:    []string{"1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "10.*"},
	Parallel: 8,
	// Twice Autobahn's second, for a loaded machine: a longer unit only
	// gives the peer more time.
	Timeout: 2 * time.Second,
}

// asyncEcho echoes from a goroutine of its own: the reader hands each
// message to a writer goroutine, so that the echo of a message can leave
// after the pong of a later ping, or after the close frame's arrival, as
// in any application with a separate reader and writer (asyncio
// websockets, pushwire's own httpstream). RFC 6455 allows it: §5.5.1 lets
// data arrive until the peer's close frame.
func asyncEcho(c *wsproto.Conn, _ *http.Request) {
	ctx := context.Background()
	type message struct {
		typ  wsproto.MessageType
		data []byte
	}
	msgs := make(chan message, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range msgs {
			time.Sleep(time.Millisecond) // the writer is a step behind the reader
			if c.Write(ctx, m.typ, m.data) != nil {
				return
			}
		}
	}()
	for {
		typ, msg, err := c.Read(ctx, nil)
		if err != nil {
			break
		}
		msgs <- message{typ, msg}
	}
	close(msgs)
	<-done
	c.CloseNow()
}

// TestConformAsyncEcho grades correct implementations whose echo is
// asynchronous: pushwire with a separate writer goroutine, in both roles,
// and Python websockets (asyncio) in both roles when it is installed. Not
// one Autobahn case may be FAILED: the harness waits for the expected
// messages and accepts data until the peer's close frame, and never takes a
// pong as proof that an echo would already have arrived.
func TestConformAsyncEcho(t *testing.T) {
	t.Run("pushwire/server", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(wsproto.Handler(&wsproto.AcceptOptions{InsecureSkipOriginCheck: true, ReadLimit: MaxMessage}, asyncEcho))
		defer srv.Close()
		opts := autobahnShort
		opts.URL, opts.Agent = "ws"+strings.TrimPrefix(srv.URL, "http")+"/", "pushwire-async"
		rep, err := conformance.RunServer(context.Background(), &opts)
		if err != nil {
			t.Fatal(err)
		}
		noFailed(t, rep)
	})
	t.Run("pushwire/client", func(t *testing.T) {
		t.Parallel()
		rep := driveClient(t, autobahnShort, func(ctx context.Context, base, agent string, parallel int) error {
			return driveGo(ctx, base, agent, parallel, func(ctx context.Context, url string) {
				c, _, err := wsproto.Dial(ctx, url, &wsproto.DialOptions{ReadLimit: MaxMessage})
				if err != nil {
					return
				}
				asyncEcho(c, nil)
			})
		}, "pushwire-async")
		noFailed(t, rep)
	})
	py, why := python()
	var peer *ConformPeer
	for _, p := range ConformPeers() {
		if p.Name == "python-websockets" {
			peer = p
		}
	}
	t.Run("python-websockets/server", func(t *testing.T) {
		if py == "" {
			t.Skipf("python3 websockets not installed: %s", why)
		}
		t.Parallel()
		url, stop, err := peer.Serve()
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		opts := autobahnShort
		opts.URL, opts.Agent = url, "python-websockets"
		rep, err := conformance.RunServer(context.Background(), &opts)
		if err != nil {
			t.Fatal(err)
		}
		noFailed(t, rep)
	})
	t.Run("python-websockets/client", func(t *testing.T) {
		if py == "" {
			t.Skipf("python3 websockets not installed: %s", why)
		}
		t.Parallel()
		noFailed(t, driveClient(t, autobahnShort, peer.Drive, "python-websockets"))
	})
}

// driveClient serves opts's cases to a client driver and returns the
// report.
func driveClient(t *testing.T, opts conformance.Options, drive func(ctx context.Context, base, agent string, parallel int) error, agent string) *conformance.Report {
	t.Helper()
	fs, err := conformance.NewFuzzingServer(&opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: fs, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := drive(ctx, "ws://"+ln.Addr().String(), agent, opts.Parallel); err != nil {
		t.Fatalf("client driver: %v", err)
	}
	rep := fs.Report(agent)
	if rep == nil || len(rep.Results) != fs.CaseCount() {
		t.Fatalf("the client ran %v cases, want %d", rep, fs.CaseCount())
	}
	return rep
}

func noFailed(t *testing.T, rep *conformance.Report) {
	t.Helper()
	for _, r := range rep.Results {
		if r.Worst() == conformance.Failed {
			t.Errorf("%s %s case %s: behavior %v (%s), close %v (%s)", rep.Agent, rep.Role, r.ID, r.Behavior, r.BehaviorReason, r.BehaviorClose, r.CloseReason)
		}
	}
	t.Logf("%s (%s): %s", rep.Agent, rep.Role, rep.Summary())
}
