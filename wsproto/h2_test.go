package wsproto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// The HTTP/2 server accepts extended CONNECT only when the process starts
// with GODEBUG=http2xconnect=1, so TestH2 re-executes the test binary with
// it to run the TestH2Child tests, which skip themselves elsewhere.

const h2ChildEnv = "PUSHWIRE_WSPROTO_H2_CHILD"

func inH2Child() bool { return os.Getenv(h2ChildEnv) == "1" }

func skipUnlessH2Child(t *testing.T) {
	t.Helper()
	if !inH2Child() {
		t.Skip("runs only in the child process that TestH2 starts with GODEBUG=http2xconnect=1")
	}
}

// h2ChildTests are the tests TestH2 expects to pass in the child.
var h2ChildTests = []string{
	"TestH2ChildEnabled",
	"TestH2ChildMessages",
	"TestH2ChildConcurrent",
	"TestH2ChildCloseCodes",
	"TestH2ChildReset",
	"TestH2ChildReadContext",
	"TestH2ChildHandshake",
	"TestH2ChildMemory",
}

func TestH2(t *testing.T) {
	if inH2Child() {
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

// h2Server is an HTTP/2 TLS loopback server whose handler accepts
// WebSockets over extended CONNECT and runs serve for each, as Handler
// will: serve on a fresh goroutine, the handler waiting for the Conn.
type h2Server struct {
	*httptest.Server
	conns     atomic.Int64 // TCP connections accepted
	protoMaj  atomic.Int64 // ProtoMajor of the last request
	handlerWG sync.WaitGroup
}

func newH2Server(t *testing.T, opts *AcceptOptions, serve func(*Conn, http.ResponseWriter)) *h2Server {
	t.Helper()
	s := &h2Server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.handlerWG.Add(1)
		defer s.handlerWG.Done()
		s.protoMaj.Store(int64(r.ProtoMajor))
		c, err := Accept(w, r, opts)
		if err != nil {
			return
		}
		go func() {
			defer c.CloseNow()
			serve(c, w)
		}()
		c.waitH2()
	}))
	s.EnableHTTP2 = true
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.StartTLS()
	t.Cleanup(func() {
		s.Close()
		s.handlerWG.Wait()
	})
	return s
}

func (s *h2Server) wsURL(path string) *url.URL {
	u, _ := url.Parse("wss" + strings.TrimPrefix(s.URL, "https") + path)
	return u
}

func echo(c *Conn, _ http.ResponseWriter) {
	ctx := context.Background()
	for {
		typ, r, err := c.Reader(ctx)
		if err != nil {
			return
		}
		w, err := c.Writer(ctx, typ)
		if err != nil {
			return
		}
		if _, err := io.Copy(w, r); err != nil {
			return
		}
		if err := w.Close(); err != nil {
			return
		}
	}
}

func dialH2Test(t *testing.T, s *h2Server, opts *DialOptions) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	o.HTTPClient = s.Client()
	c, resp, err := Dial(ctx, s.wsURL("/ws").String(), &o)
	if err != nil {
		t.Fatalf("Dial over HTTP/2: %v", err)
	}
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusOK {
		t.Fatalf("dialH2 response = %s %s, want HTTP/2.0 200", resp.Proto, resp.Status)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func TestH2ChildEnabled(t *testing.T) {
	skipUnlessH2Child(t)
	if !HTTP2ExtendedConnectEnabled() {
		t.Fatalf("HTTP2ExtendedConnectEnabled() = false with GODEBUG=%q, want true", os.Getenv("GODEBUG"))
	}
}

func TestH2ChildMessages(t *testing.T) {
	skipUnlessH2Child(t)
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			aopts := &AcceptOptions{ReadLimit: -1}
			dopts := &DialOptions{ReadLimit: -1}
			if compress {
				aopts.Compression = &CompressionOptions{}
				dopts.Compression = &CompressionOptions{}
			}
			s := newH2Server(t, aopts, echo)
			c := dialH2Test(t, s, dopts)
			if got := s.protoMaj.Load(); got != 2 {
				t.Fatalf("server saw ProtoMajor %d, want 2", got)
			}
			if got := strings.Contains(c.Extensions(), "permessage-deflate"); got != compress {
				t.Fatalf("Extensions() = %q, want permessage-deflate: %v", c.Extensions(), compress)
			}
			// Up to 5 MiB: beyond the HTTP/2 flow-control windows of
			// both ends (1 MiB and 4 MiB), and a fifth of the time of
			// 16 MiB under the race detector.
			sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 1 << 20, 5 << 20}
			for _, typ := range []MessageType{MessageText, MessageBinary} {
				for _, n := range sizes {
					t.Run(fmt.Sprintf("%v/%d", typ, n), func(t *testing.T) {
						// Each message has its own bound, a generous
						// one: a large message compressed under the
						// race detector can take a minute on a loaded
						// machine.
						ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
						defer cancel()
						want := payload(n, typ, 8441)
						// The echo streams the message back while it
						// arrives: read while writing, or flow control
						// stalls both.
						werr := make(chan error, 1)
						go func() { werr <- c.Write(ctx, typ, want) }()
						gotTyp, got, err := c.Read(ctx, nil)
						if err := <-werr; err != nil {
							t.Fatalf("Write(%v, %d bytes) = %v, want nil", typ, n, err)
						}
						if err != nil {
							t.Fatalf("Read after %d-byte %v = %v, want nil", n, typ, err)
						}
						if gotTyp != typ || !bytes.Equal(got, want) {
							t.Fatalf("Read = %v with %d bytes, want %v with %d bytes equal to those sent", gotTyp, len(got), typ, n)
						}
					})
				}
			}
			if err := c.Close(frame.CloseNormal, ""); err != nil {
				t.Fatalf("Close(1000) = %v, want nil", err)
			}
		})
	}
}

func TestH2ChildConcurrent(t *testing.T) {
	skipUnlessH2Child(t)
	s := newH2Server(t, nil, echo)
	client := s.Client()
	const n = 100
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conns := make([]*Conn, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, _, err := dialH2(ctx, s.wsURL(fmt.Sprintf("/ws/%d", i)), client, nil)
			if err != nil {
				errs <- fmt.Errorf("dial %d: %w", i, err)
				return
			}
			conns[i] = c
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.CloseNow()
		}
	})
	if got := s.conns.Load(); got != 1 {
		t.Errorf("server accepted %d TCP connections for %d WebSockets, want 1", got, n)
	}
	// One WebSocket that nobody reads must not hold up the others.
	stalled := conns[0]
	if err := stalled.Write(ctx, MessageBinary, payload(1<<20, MessageBinary, 1)); err != nil {
		t.Fatalf("Write to the stalled stream = %v, want nil", err)
	}
	errs2 := make(chan error, n)
	for i, c := range conns[1:] {
		wg.Go(func() {
			for j := range 10 {
				msg := []byte(fmt.Sprintf("ws %d message %d", i+1, j))
				if err := c.Write(ctx, MessageText, msg); err != nil {
					errs2 <- err
					return
				}
				_, got, err := c.Read(ctx, nil)
				if err != nil || !bytes.Equal(got, msg) {
					errs2 <- fmt.Errorf("ws %d: Read = %q, %v, want %q", i+1, got, err, msg)
					return
				}
			}
			if err := c.Close(frame.CloseNormal, ""); err != nil {
				errs2 <- fmt.Errorf("ws %d: Close = %v, want nil", i+1, err)
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs2:
		t.Fatal(err)
	default:
	}
}

func TestH2ChildCloseCodes(t *testing.T) {
	skipUnlessH2Child(t)
	tests := []struct {
		name       string
		clientSide bool // the client starts the closing handshake
		code       frame.CloseCode
		reason     string
	}{
		{"client 1000", true, frame.CloseNormal, ""},
		{"client 4000", true, 4000, "bye"},
		{"server 1001", false, frame.CloseGoingAway, "restarting"},
		{"server 4001", false, 4001, "srv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serverErr := make(chan error, 1)
			serverClose := make(chan error, 1)
			s := newH2Server(t, nil, func(c *Conn, _ http.ResponseWriter) {
				if !tt.clientSide {
					serverClose <- c.Close(tt.code, tt.reason)
					return
				}
				_, _, err := c.Read(context.Background(), nil)
				serverErr <- err
			})
			c := dialH2Test(t, s, nil)
			ctx := context.Background()
			var peerErr error
			if tt.clientSide {
				if err := c.Close(tt.code, tt.reason); err != nil {
					t.Fatalf("client Close(%d, %q) = %v, want nil", tt.code, tt.reason, err)
				}
				peerErr = <-serverErr
			} else {
				_, _, peerErr = c.Read(ctx, nil)
				if err := <-serverClose; err != nil {
					t.Fatalf("server Close(%d, %q) = %v, want nil", tt.code, tt.reason, err)
				}
			}
			var ce frame.CloseError
			if !errors.As(peerErr, &ce) || ce.Code != tt.code || ce.Reason != tt.reason {
				t.Fatalf("peer Read = %v, want CloseError{%d, %q}", peerErr, tt.code, tt.reason)
			}
			// The server's handler returned, ending the stream.
			s.Close()
			s.handlerWG.Wait()
			if st := c.State(); st != StateClosed {
				t.Errorf("client State() = %v, want CLOSED", st)
			}
		})
	}
}

func TestH2ChildReset(t *testing.T) {
	skipUnlessH2Child(t)
	tests := []struct {
		name string
		// reset is done by the server to w, or by the client to c when
		// w is nil.
		byServer bool
	}{
		{"client resets", false},
		{"server resets", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serverErr := make(chan error, 1)
			ready := make(chan struct{})
			s := newH2Server(t, nil, func(c *Conn, w http.ResponseWriter) {
				if tt.byServer {
					// Reset only once the client has its Conn, which it
					// shows by sending a message. net/http's Flush (in
					// Accept) queues a HEADERS frame without header
					// fields and returns before it is written, and the
					// RST_STREAM is scheduled ahead of a stream's frames:
					// a reset right after Accept can reach the client
					// first, and Dial then fails with the stream error.
					if _, _, err := c.Read(context.Background(), nil); err != nil {
						serverErr <- err
						close(ready)
						return
					}
					// RST_STREAM from the server: a write deadline in the
					// past makes net/http reset the stream.
					http.NewResponseController(w).SetWriteDeadline(time.Unix(1, 0))
				}
				close(ready)
				_, _, err := c.Read(context.Background(), nil)
				serverErr <- err
			})
			c := dialH2Test(t, s, nil)
			if tt.byServer {
				if err := c.Write(context.Background(), MessageText, []byte("reset me")); err != nil {
					t.Fatalf("Write before the reset = %v, want nil", err)
				}
			}
			<-ready
			if tt.byServer {
				_, _, err := c.Read(context.Background(), nil)
				var ce frame.CloseError
				if !errors.As(err, &ce) || ce.Code != frame.CloseAbnormal {
					t.Fatalf("client Read after server reset = %v, want CloseError 1006", err)
				}
				c.CloseNow()
				<-serverErr
				return
			}
			// CloseNow closes the response body before its end, which
			// resets the stream (RST_STREAM CANCEL).
			c.CloseNow()
			err := <-serverErr
			var ce frame.CloseError
			if !errors.As(err, &ce) || ce.Code != frame.CloseAbnormal {
				t.Fatalf("server Read after client reset = %v, want CloseError 1006", err)
			}
		})
	}
}

func TestH2ChildReadContext(t *testing.T) {
	skipUnlessH2Child(t)
	s := newH2Server(t, nil, echo)
	c := dialH2Test(t, s, nil)
	// A context that ends while a read waits for a message leaves the
	// connection usable: the adapter's deadline must not reset the stream.
	for range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		_, _, err := c.Read(ctx, nil)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Read with a canceled context = %v, want context.Canceled", err)
		}
	}
	ctx := context.Background()
	if err := c.Write(ctx, MessageText, []byte("still there")); err != nil {
		t.Fatalf("Write after canceled reads = %v, want nil", err)
	}
	if _, got, err := c.Read(ctx, nil); err != nil || string(got) != "still there" {
		t.Fatalf("Read after canceled reads = %q, %v, want \"still there\", nil", got, err)
	}
	if err := c.Close(frame.CloseNormal, ""); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}
}

func TestH2ChildHandshake(t *testing.T) {
	skipUnlessH2Child(t)
	tests := []struct {
		name       string
		accept     *AcceptOptions
		dial       *DialOptions
		wantProto  string
		wantStatus int // 0: success
	}{
		{name: "no subprotocol"},
		{name: "subprotocol selected", accept: &AcceptOptions{Subprotocols: []string{"b", "a"}},
			dial: &DialOptions{Subprotocols: []string{"a", "b"}}, wantProto: "b"},
		{name: "no common subprotocol", accept: &AcceptOptions{Subprotocols: []string{"c"}},
			dial: &DialOptions{Subprotocols: []string{"a"}}},
		{name: "foreign origin", dial: &DialOptions{Header: http.Header{"Origin": {"https://evil.example"}}},
			wantStatus: http.StatusForbidden},
		{name: "origin pattern", accept: &AcceptOptions{OriginPatterns: []string{"*.example"}},
			dial: &DialOptions{Header: http.Header{"Origin": {"https://good.example"}}}},
		{name: "verify refuses", accept: &AcceptOptions{Verify: func(*http.Request) error { return errors.New("no token") }},
			wantStatus: http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newH2Server(t, tt.accept, echo)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, resp, err := dialH2(ctx, s.wsURL("/ws"), s.Client(), tt.dial)
			if tt.wantStatus != 0 {
				var re *handshake.ResponseError
				if !errors.As(err, &re) || re.StatusCode != tt.wantStatus {
					t.Fatalf("dialH2 = %v, want a ResponseError with status %d", err, tt.wantStatus)
				}
				if resp == nil || resp.StatusCode != tt.wantStatus {
					t.Fatalf("dialH2 response = %v, want status %d", resp, tt.wantStatus)
				}
				return
			}
			if err != nil {
				t.Fatalf("dialH2 = %v, want nil", err)
			}
			defer c.CloseNow()
			if got := c.Subprotocol(); got != tt.wantProto {
				t.Errorf("Subprotocol() = %q, want %q", got, tt.wantProto)
			}
			if resp.Header.Get("Sec-WebSocket-Accept") != "" {
				t.Errorf("response has Sec-WebSocket-Accept %q, want none (RFC 8441 §5)", resp.Header.Get("Sec-WebSocket-Accept"))
			}
			if err := c.Close(frame.CloseNormal, ""); err != nil {
				t.Fatalf("Close = %v, want nil", err)
			}
		})
	}
}

// TestH2Unsupported runs in the parent process, where net/http does not
// advertise SETTINGS_ENABLE_CONNECT_PROTOCOL.
func TestH2Unsupported(t *testing.T) {
	if HTTP2ExtendedConnectEnabled() {
		t.Skip("GODEBUG has http2xconnect=1: this process's HTTP/2 server advertises extended CONNECT")
	}
	reached := make(chan struct{}, 1)
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached <- struct{}{}
	}))
	s.EnableHTTP2 = true
	s.StartTLS()
	defer s.Close()
	u, _ := url.Parse("wss" + strings.TrimPrefix(s.URL, "https") + "/ws")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := dialH2(ctx, u, s.Client(), nil)
	if !errors.Is(err, ErrExtendedConnectUnsupported) {
		if c != nil {
			c.CloseNow()
		}
		t.Fatalf("dialH2 to a server without extended CONNECT = %v, want ErrExtendedConnectUnsupported", err)
	}
	select {
	case <-reached:
		t.Errorf("the handler was reached, want the request refused before sending")
	default:
	}
}

// TestAcceptH2Disabled runs in the parent process: an HTTP/2 request that
// reaches the handler is refused with a clear reason.
func TestAcceptH2Disabled(t *testing.T) {
	if HTTP2ExtendedConnectEnabled() {
		t.Skip("GODEBUG has http2xconnect=1")
	}
	r := httptest.NewRequest(http.MethodConnect, "https://example.com/ws", nil)
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
	r.Header.Set(":protocol", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	w := httptest.NewRecorder()
	c, err := acceptH2(w, r, nil)
	if c != nil || !errors.Is(err, ErrExtendedConnectUnsupported) || !strings.Contains(err.Error(), "GODEBUG=http2xconnect=1") {
		t.Fatalf("acceptH2 without GODEBUG = %v, %v, want nil, ErrExtendedConnectUnsupported saying GODEBUG=http2xconnect=1", c, err)
	}
	var re *handshake.RejectError
	if !errors.As(err, &re) || w.Code != http.StatusBadRequest {
		t.Fatalf("acceptH2 answered %d (%v), want 400 with a RejectError", w.Code, err)
	}
	if !strings.Contains(w.Body.String(), "HTTP/2 is not enabled") {
		t.Errorf("body = %q, want it to say HTTP/2 is not enabled", w.Body.String())
	}
}

// TestH2DialErrors checks what dialH2 refuses before any network traffic.
func TestH2DialErrors(t *testing.T) {
	tests := []struct {
		name   string
		url    string
		client *http.Client
		opts   *DialOptions
		want   string
	}{
		{"ws scheme", "ws://example.com/", nil, nil, "needs a wss:// URL"},
		{"no host", "wss:///x", nil, nil, "no host"},
		{"foreign transport", "wss://example.com/", &http.Client{Transport: roundTripFunc(nil)}, nil, "want an *http.Transport"},
		{"bad subprotocol", "wss://example.com/", nil, &DialOptions{Subprotocols: []string{"a b"}}, `subprotocol "a b" is not a token`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, _ := url.Parse(tt.url)
			_, _, err := dialH2(context.Background(), u, tt.client, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("dialH2(%q) = %v, want an error containing %q", tt.url, err, tt.want)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
