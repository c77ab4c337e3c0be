package h2stream

import (
	"bytes"
	"context"
	"errors"
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
)

// net/http's HTTP/2 server accepts extended CONNECT only when the process
// starts with GODEBUG=http2xconnect=1, so TestExtendedConnect re-executes
// the test binary with it to run the TestChild tests, which skip
// themselves elsewhere.

const childEnv = "PUSHWIRE_H2STREAM_CHILD"

var childTests = []string{"TestChildServerEnabled", "TestChildEcho", "TestChildRefused", "TestChildShareAndRelease", "TestChildHandlerReturned"}

func TestExtendedConnect(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		return
	}
	if testing.Short() {
		t.Skip("re-executes the test binary; skipped in -short mode")
	}
	godebug := "http2xconnect=1"
	if g := os.Getenv("GODEBUG"); g != "" {
		godebug = g + "," + godebug
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild", "-test.v", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), childEnv+"=1", "GODEBUG="+godebug)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child test process: %v\n%s", err, out)
	}
	for _, name := range childTests {
		if !bytes.Contains(out, []byte("--- PASS: "+name+" ")) {
			t.Errorf("child did not pass %s:\n%s", name, out)
		}
	}
}

func skipUnlessChild(t *testing.T) {
	t.Helper()
	if os.Getenv(childEnv) == "" {
		t.Skip("runs only in the child process that TestExtendedConnect starts with GODEBUG=http2xconnect=1")
	}
}

// newServer starts an HTTP/2 TLS server whose handler answers an extended
// CONNECT with status and serves the stream with serve, waiting for the
// Conn as Accept requires. conns counts the TCP connections it accepted.
func newServer(t *testing.T, status int, serve func(*Conn)) (s *httptest.Server, conns *atomic.Int32) {
	t.Helper()
	var handlers sync.WaitGroup
	conns = new(atomic.Int32)
	s = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		if r.Method != http.MethodConnect || r.Header.Get(":protocol") != "test" {
			http.Error(w, "want an extended CONNECT", http.StatusBadRequest)
			return
		}
		w.WriteHeader(status)
		if status/100 != 2 {
			io.WriteString(w, "refused")
			return
		}
		c, err := Accept(w, r)
		if err != nil {
			t.Errorf("Accept = %v", err)
			return
		}
		go func() {
			defer c.Close()
			serve(c)
		}()
		<-c.Done()
	}))
	s.EnableHTTP2 = true
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	s.StartTLS()
	t.Cleanup(func() {
		s.Close()
		handlers.Wait()
	})
	return s, conns
}

func connectRequest(t *testing.T, s *httptest.Server) *http.Request {
	t.Helper()
	u, err := url.Parse(s.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	return &http.Request{
		Method: http.MethodConnect, URL: u, Proto: "HTTP/2.0", ProtoMajor: 2,
		Header: http.Header{":protocol": {"test"}},
	}
}

func echo(c *Conn) { io.Copy(c, c) }

func TestChildServerEnabled(t *testing.T) {
	skipUnlessChild(t)
	if !ServerEnabled() {
		t.Fatalf("ServerEnabled() = false with GODEBUG=%q, want true", os.Getenv("GODEBUG"))
	}
}

func TestChildEcho(t *testing.T) {
	skipUnlessChild(t)
	s, _ := newServer(t, http.StatusOK, echo)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, resp, err := Dial(ctx, s.Client().Transport.(*http.Transport), connectRequest(t, s))
	if err != nil {
		t.Fatalf("Dial = %v, want nil", err)
	}
	defer c.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Fatalf("response %s %s, want HTTP/2.0 200", resp.Proto, resp.Status)
	}
	if c.RemoteAddr().String() != s.Listener.Addr().String() {
		t.Errorf("RemoteAddr() = %v, want the server's %v", c.RemoteAddr(), s.Listener.Addr())
	}
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<14) // 256 KiB, beyond the initial flow-control windows
	go c.Write(want)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("echo of %d bytes: %v, equal %v", len(want), err, bytes.Equal(got, want))
	}
	// CloseWrite sends END_STREAM: the echo ends, and so does our read.
	if err := c.CloseWrite(); err != nil {
		t.Fatalf("CloseWrite = %v", err)
	}
	if n, err := c.Read(got); n != 0 || err != io.EOF {
		t.Fatalf("Read after CloseWrite = %d, %v, want 0, EOF", n, err)
	}
}

func TestChildRefused(t *testing.T) {
	skipUnlessChild(t)
	s, _ := newServer(t, http.StatusForbidden, echo)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, resp, err := Dial(ctx, s.Client().Transport.(*http.Transport), connectRequest(t, s))
	if err != nil || c != nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("Dial = %v, %v, %v, want no Conn and a 403 response", c, resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "refused" {
		t.Errorf("body = %q, want \"refused\"", body)
	}
}

// Streams through one Transport share its HTTP/2 connection, and the table
// of Transports forgets a Transport once its streams and connections are
// gone.
func TestChildShareAndRelease(t *testing.T) {
	skipUnlessChild(t)
	s, conns := newServer(t, http.StatusOK, echo)
	tr := s.Client().Transport.(*http.Transport)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 20
	streams := make([]*ClientConn, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, _, err := Dial(ctx, tr, connectRequest(t, s))
			if err != nil {
				t.Errorf("Dial %d = %v", i, err)
				return
			}
			streams[i] = c
		})
	}
	wg.Wait()
	if got := conns.Load(); got != 1 {
		t.Errorf("server accepted %d connections for %d streams, want 1", got, n)
	}
	if users := tableUsers(tr); users != n+1 {
		t.Errorf("the table counts %d users of the Transport, want %d streams and 1 connection", users, n+1)
	}
	for _, c := range streams {
		if c != nil {
			c.Close()
		}
	}
	if users := tableUsers(tr); users != 1 {
		t.Errorf("after closing the streams the table counts %d users, want the pooled connection", users)
	}
	// A later stream reuses the pooled connection.
	c, _, err := Dial(ctx, tr, connectRequest(t, s))
	if err != nil {
		t.Fatalf("Dial after the others closed = %v", err)
	}
	c.Close()
	if got := conns.Load(); got != 1 {
		t.Errorf("server accepted %d connections, want 1", got)
	}
	tr.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for tableUsers(tr) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if users := tableUsers(tr); users != 0 {
		t.Errorf("after the pool closed its connection the table counts %d users, want none", users)
	}
}

// A Write after the handler returned fails instead of touching the
// retired ResponseWriter.
func TestChildHandlerReturned(t *testing.T) {
	skipUnlessChild(t)
	accepted := make(chan *Conn, 1)
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r)
		if err != nil {
			t.Errorf("Accept = %v", err)
			return
		}
		accepted <- c // and return at once, breaking Accept's rule
	}))
	s.EnableHTTP2 = true
	s.StartTLS()
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cc, _, err := Dial(ctx, s.Client().Transport.(*http.Transport), connectRequest(t, s))
	if err != nil {
		t.Fatalf("Dial = %v", err)
	}
	defer cc.Close()
	c := <-accepted
	<-c.Done() // the request's context ended with the handler, which closed the Conn
	if _, err := c.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after the handler returned = %v, want ErrClosed", err)
	}
}

func tableUsers(t *http.Transport) int {
	transports.Lock()
	defer transports.Unlock()
	if u := transports.m[t]; u != nil {
		return u.users
	}
	return 0
}

// In the parent process net/http's HTTP/2 server does not advertise
// extended CONNECT: ServerEnabled says so, and Dial fails with
// ErrUnsupported before the request reaches the handler.
func TestUnsupported(t *testing.T) {
	if os.Getenv(childEnv) != "" || strings.Contains(os.Getenv("GODEBUG"), "http2xconnect=1") {
		t.Skip("this process's HTTP/2 server advertises extended CONNECT")
	}
	if ServerEnabled() {
		t.Fatal("ServerEnabled() = true without GODEBUG=http2xconnect=1, want false")
	}
	reached := make(chan struct{}, 1)
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached <- struct{}{}
	}))
	s.EnableHTTP2 = true
	s.StartTLS()
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr := s.Client().Transport.(*http.Transport)
	c, _, err := Dial(ctx, tr, connectRequest(t, s))
	if !errors.Is(err, ErrUnsupported) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("Dial = %v, want ErrUnsupported", err)
	}
	select {
	case <-reached:
		t.Errorf("the handler was reached, want the request refused unsent")
	default:
	}
	if users := tableUsers(tr); users != 1 {
		t.Errorf("after the failed Dial the table counts %d users, want the pooled connection", users)
	}
}

func TestDialInvalid(t *testing.T) {
	tr := &http.Transport{}
	for _, r := range []*http.Request{
		{Method: "CONNECT", URL: &url.URL{Scheme: "http", Host: "example.com"}},
		{Method: "CONNECT", URL: &url.URL{Scheme: "https"}},
		{Method: "CONNECT", URL: &url.URL{Scheme: "https", Host: "example.com"}, Body: http.NoBody},
	} {
		if c, _, err := Dial(context.Background(), tr, r); err == nil {
			c.Close()
			t.Errorf("Dial(%v, body %v) = nil error, want one", r.URL, r.Body)
		}
	}
	if users := tableUsers(tr); users != 0 {
		t.Errorf("the table counts %d users after refused Dials, want none", users)
	}
}
