package httpstream

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
)

// serve starts a test server for a Handler on tp; both are closed when the
// test ends.
func serve(t testing.TB, tp hub.Log, opts *Options) (*httptest.Server, *Handler) {
	t.Helper()
	h := NewHandler(tp, opts)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	return srv, h
}

// newServer starts a test server for h; it is closed when the test ends.
func newServer(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// get performs a GET and returns the status and the whole body.
func get(t testing.TB, url string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// publish publishes each string as an entry.
func publish(t testing.TB, tp hub.Log, typ string, data ...string) {
	t.Helper()
	for _, d := range data {
		if _, err := tp.Publish(context.Background(), typ, []byte(d)); err != nil {
			t.Fatalf("Publish(%q) = %v", d, err)
		}
	}
}

// lineReader reads a streamed response line by line, with a safety
// timeout so that a broken test fails instead of hanging.
type lineReader struct {
	t    testing.TB
	resp *http.Response
	buf  []byte
}

func openStream(t testing.TB, url string, header ...string) *lineReader {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &lineReader{t: t, resp: resp}
}

// readUntil reads until the body so far contains want, and returns
// everything read. It fails the test after a safety timeout.
func (lr *lineReader) readUntil(want string) string {
	lr.t.Helper()
	timer := time.AfterFunc(20*time.Second, func() { lr.resp.Body.Close() })
	defer timer.Stop()
	p := make([]byte, 64<<10)
	from := 0 // where want may start
	for !strings.Contains(string(lr.buf[from:]), want) {
		from = max(0, len(lr.buf)-len(want)+1)
		n, err := lr.resp.Body.Read(p)
		lr.buf = append(lr.buf, p[:n]...)
		if err != nil {
			lr.t.Fatalf("reading the stream: %v; got %d bytes ending in %q, want it to contain %q", err, len(lr.buf), tail(lr.buf), want)
		}
	}
	return string(lr.buf)
}

// tail returns the end of b, for error messages.
func tail(b []byte) string {
	if len(b) > 300 {
		b = b[len(b)-300:]
	}
	return string(b)
}

// readAll reads to the end of the body.
func (lr *lineReader) readAll() string {
	lr.t.Helper()
	timer := time.AfterFunc(10*time.Second, func() { lr.resp.Body.Close() })
	defer timer.Stop()
	rest, err := io.ReadAll(lr.resp.Body)
	lr.buf = append(lr.buf, rest...)
	if err != nil {
		lr.t.Fatalf("reading the stream to its end: %v; got %q", err, lr.buf)
	}
	return string(lr.buf)
}

// cuttingListener closes each of its first cuts connections after a random
// number of written bytes, at most max: a connection dropped at a random
// point, in the middle of a record or between two.
type cuttingListener struct {
	net.Listener
	mu     sync.Mutex
	budget func() int // bytes the next connection may write; <0: no limit
}

func (l *cuttingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	n := l.budget()
	l.mu.Unlock()
	if n < 0 {
		return c, nil
	}
	return &cuttingConn{Conn: c, left: n}, nil
}

type cuttingConn struct {
	net.Conn
	mu   sync.Mutex
	left int
}

func (c *cuttingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(p) <= c.left {
		c.left -= len(p)
		return c.Conn.Write(p)
	}
	n, _ := c.Conn.Write(p[:c.left])
	c.left = 0
	c.Conn.Close()
	return n, net.ErrClosed
}

// pending returns what a sink appended since its last flush.
func (rw *respWriter) pending() []byte {
	if rw.pb == nil {
		return nil
	}
	return rw.buf[chunkReserve:]
}
