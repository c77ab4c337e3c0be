package httpstream

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/sseproto"
)

// TestStreams checks the bytes each streaming transport writes for a
// cursor record, two entries and a gap.
func TestStreams(t *testing.T) {
	tests := []struct {
		name   string
		query  string
		header []string
		ctype  string
		want   string
	}{
		{"ndjson", "?transport=stream&cursor=1", nil, "application/x-ndjson",
			`{"cursor":"e1:1"}` + "\n" +
				`{"gap":{"after":1,"oldest":3,"lost":1},"cursor":"e1:2"}` + "\n" +
				`{"seq":3,"data":"a\u003c/script\u003e"}` + "\n" +
				`{"seq":4,"type":"chat","data":"b\u2028c"}` + "\n"},
		{"ndjson by accept", "?cursor=3", []string{"Accept", "application/x-ndjson"}, "application/x-ndjson",
			`{"cursor":"e1:3"}` + "\n" +
				`{"seq":4,"type":"chat","data":"b\u2028c"}` + "\n"},
		{"iframe", "?transport=iframe&cursor=1&callback=app.cb", nil, "text/html; charset=utf-8",
			"<!doctype html>\n<meta charset=\"utf-8\">\n<title>pushwire</title>\n" +
				`<script>parent.app.cb({"cursor":"e1:1"})</script>` + "\n" +
				`<script>parent.app.cb({"gap":{"after":1,"oldest":3,"lost":1},"cursor":"e1:2"})</script>` + "\n" +
				`<script>parent.app.cb({"seq":3,"data":"a\u003c/script\u003e"})</script>` + "\n" +
				`<script>parent.app.cb({"seq":4,"type":"chat","data":"b\u2028c"})</script>` + "\n"},
		{"sse", "?transport=sse&cursor=1", nil, "text/event-stream",
			"event: pushwire.cursor\nid: e1:1\ndata: e1:1\n\n" +
				"event: pushwire.gap\nid: e1:2\ndata: {\"after\":1,\"oldest\":3,\"lost\":1}\n\n" +
				"id: e1:3\ndata: a</script>\n\n" +
				"event: chat\nid: e1:4\ndata: b\u2028c\n\n"},
		{"sse by accept, last-event-id", "?cursor=0", []string{"Accept", "text/event-stream", "Last-Event-ID", "3"}, "text/event-stream",
			"event: pushwire.cursor\nid: e1:3\ndata: e1:3\n\n" +
				"event: chat\nid: e1:4\ndata: b\u2028c\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1", MaxEntries: 2})
			publish(t, tp, "", "dropped", "dropped", "a</script>")
			publish(t, tp, "chat", "b\u2028c")
			srv, h := serve(t, tp, &Options{Padding: -1})
			s := openStream(t, srv.URL+tt.query, tt.header...)
			if got := s.resp.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type = %q, want %q", got, tt.ctype)
			}
			// End the stream with Close, so that the whole body is read.
			s.readUntil("4")
			h.Close()
			if got := s.readAll(); got != tt.want {
				t.Errorf("GET(%q) =\n%s\nwant\n%s", tt.query, got, tt.want)
			}
		})
	}
}

// TestIframeEscaping: no payload can end the script element, open an HTML
// comment or end a JavaScript line inside the iframe stream.
func TestIframeEscaping(t *testing.T) {
	payloads := []string{"</script><script>alert(1)</script>", "</SCRIPT >", "<!--<script>", "a\u2028b\u2029c", "]]>-->", "\"});alert(1);({\"", "\x00\r\n"}
	tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1"})
	publish(t, tp, "</script>", payloads...)
	srv, h := serve(t, tp, &Options{Padding: -1})
	s := openStream(t, srv.URL+"?transport=iframe&cursor=0")
	s.readUntil(`"seq":` + strconv.Itoa(len(payloads)))
	h.Close()
	body := s.readAll()
	if n, want := strings.Count(body, "</script>"), len(payloads)+1; n != want {
		t.Errorf("iframe stream holds %d </script>, want %d (one per script element):\n%s", n, want, body)
	}
	for _, bad := range []string{"<!--", "</SCRIPT", "\u2028", "\u2029", "\r", "\x00"} {
		if strings.Contains(body, bad) {
			t.Errorf("iframe stream holds %q:\n%s", bad, body)
		}
	}
	for _, s := range []string{`\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e`, `\u003c!--\u003cscript\u003e`, `a\u2028b\u2029c`, `\"});alert(1);({\"`} {
		if !strings.Contains(body, s) {
			t.Errorf("iframe stream lacks the escaped payload %s:\n%s", s, body)
		}
	}
}

func TestIframeCallback(t *testing.T) {
	srv, _ := serve(t, hub.NewTopic(&hub.TopicOptions{Epoch: "e1"}), nil)
	for _, cb := range []string{"alert(1)", "a..b", "1a", "a-b", "</script>", strings.Repeat("a", 65)} {
		code, _ := get(t, srv.URL+"?transport=iframe&callback="+cb)
		if code != http.StatusBadRequest {
			t.Errorf("GET(callback=%q) = %d, want 400", cb, code)
		}
	}
}

func TestPadding(t *testing.T) {
	srv, _ := serve(t, hub.NewTopic(&hub.TopicOptions{Epoch: "e1"}), &Options{Padding: 100})
	s := openStream(t, srv.URL+"?transport=stream&cursor=0")
	if got, want := s.readUntil("}\n"), strings.Repeat(" ", 99)+"\n"+`{"cursor":"e1:0"}`+"\n"; got != want {
		t.Errorf("padded stream = %q, want %q", got, want)
	}
}

// flushRecorder is a ResponseWriter for tests inside a synctest bubble: it
// keeps what was written, safely for concurrent reads.
type flushRecorder struct {
	mu     sync.Mutex
	header http.Header
	body   strings.Builder
}

func (f *flushRecorder) Header() http.Header { return f.header }
func (f *flushRecorder) WriteHeader(int)     {}
func (f *flushRecorder) Flush()              {}
func (f *flushRecorder) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.body.Write(p)
}
func (f *flushRecorder) String() string { f.mu.Lock(); defer f.mu.Unlock(); return f.body.String() }

// TestKeepAlive: a stream silent for KeepAlive gets a keep-alive in its
// transport's form, and none before.
func TestKeepAlive(t *testing.T) {
	tests := []struct{ transport, open, keepAlive string }{
		{"stream", `{"cursor":"e1:0"}` + "\n", "\n"},
		{"iframe", `<script>parent.pushwireFrame({"cursor":"e1:0"})</script>` + "\n", "\n"},
		{"sse", "event: pushwire.cursor\nid: e1:0\ndata: e1:0\n\n", ":\n"},
	}
	for _, tt := range tests {
		t.Run(tt.transport, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := NewHandler(hub.NewTopic(&hub.TopicOptions{Epoch: "e1"}), &Options{KeepAlive: 10 * time.Second, Padding: -1})
				w := &flushRecorder{header: http.Header{}}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() {
					h.ServeHTTP(w, httptest.NewRequestWithContext(ctx, "GET", "/?cursor=0&transport="+tt.transport, nil))
					close(done)
				}()
				synctest.Wait()
				opened := w.String()
				if !strings.HasSuffix(opened, tt.open) {
					t.Fatalf("stream opened with %q, want it to end in %q", opened, tt.open)
				}
				time.Sleep(10*time.Second - time.Nanosecond)
				synctest.Wait()
				if got := w.String(); got != opened {
					t.Errorf("before KeepAlive the stream is %q, want %q", got, opened)
				}
				time.Sleep(time.Nanosecond)
				synctest.Wait()
				if got, want := w.String(), opened+tt.keepAlive; got != want {
					t.Errorf("after KeepAlive the stream is %q, want %q", got, want)
				}
				time.Sleep(10 * time.Second)
				synctest.Wait()
				if got, want := w.String(), opened+tt.keepAlive+tt.keepAlive; got != want {
					t.Errorf("after 2×KeepAlive the stream is %q, want %q", got, want)
				}
				cancel()
				<-done
				h.Close()
			})
		})
	}
}

// TestWriteDeadlineExtended: a server WriteTimeout does not cut a stream,
// since each write moves the deadline.
func TestWriteDeadlineExtended(t *testing.T) {
	tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1"})
	h := NewHandler(tp, nil)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.WriteTimeout = 50 * time.Millisecond
	srv.Start()
	defer func() { h.Close(); srv.Close() }()
	for _, transport := range []string{"sse", "stream", "iframe"} {
		t.Run(transport, func(t *testing.T) {
			s := openStream(t, srv.URL+"?cursor=&transport="+transport)
			s.readUntil("cursor")
			time.Sleep(150 * time.Millisecond) // three times the server's WriteTimeout
			publish(t, tp, "", "late "+transport)
			s.readUntil("late " + transport)
		})
	}
}

// TestSSEReconnects: an SSE client (sseproto.Client) receives 10,000
// entries published concurrently exactly once and in order, while its
// connection is cut 100 times at random points.
func TestSSEReconnects(t *testing.T) {
	var reconnects int
	reconnectTest(t, nil, func(ctx context.Context, url string, got func(uint64, string) error) error {
		c, err := sseproto.NewClient(url+"?transport=sse&cursor=0", &sseproto.ClientOptions{
			HTTPClient:    &http.Client{Transport: &http.Transport{}},
			ReconnectTime: time.Millisecond,
			MaxBackoff:    time.Millisecond,
			OnStateChange: func(s sseproto.State, err error) {
				if s == sseproto.Connecting {
					reconnects++
				}
			},
		})
		if err != nil {
			return err
		}
		return c.Run(ctx, func(ev sseproto.Event) error {
			if ev.Type == "pushwire.cursor" {
				return nil
			}
			if ev.Type != "message" {
				return errors.New("unexpected event " + ev.Type)
			}
			seq, err := strconv.ParseUint(strings.TrimPrefix(ev.ID, "e1:"), 10, 64)
			if err != nil {
				return err
			}
			return got(seq, ev.Data)
		})
	})
	if reconnects < reconnectCuts {
		t.Errorf("the client reconnected %d times, want at least %d", reconnects, reconnectCuts)
	}
}

// TestSlowSubscriber: a subscriber that stopped reading does not hold up
// one that reads: when the fast one has received every entry, the server
// has written the slow one only what its socket buffers took, counted in
// entries by the bytes its connection accepted.
func TestSlowSubscriber(t *testing.T) {
	const entries = 2000
	payload := strings.Repeat("x", 8<<10) // 16 MB in all: more than socket buffers hold
	tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1", MaxEntries: entries, MaxBytes: 64 << 20})
	h := NewHandler(tp, &Options{WriteTimeout: time.Minute})
	srv := httptest.NewUnstartedServer(h)
	cl := &countingListener{Listener: srv.Listener}
	srv.Listener = cl
	srv.Start()
	defer func() { h.Close(); srv.Close() }()

	// The slow subscriber sends its request and reads nothing.
	slow, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := slow.Write([]byte("GET /?transport=stream&cursor=0 HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	fast := openStream(t, srv.URL+"?transport=stream&cursor=0")
	for range entries {
		publish(t, tp, "", payload)
	}
	fast.readUntil(`{"seq":` + strconv.Itoa(entries) + `,`)
	fastBytes, slowBytes := cl.written(1), cl.written(0)
	record := int64(len(payload) + len(`{"seq":1000,"data":""}`+"\n"))
	if slowBytes >= fastBytes {
		t.Errorf("slow subscriber was written %d bytes, fast one %d: want the slow one behind", slowBytes, fastBytes)
	}
	t.Logf("when the fast subscriber had all %d entries (%d bytes), the slow one had about %d (%d bytes)", entries, fastBytes, slowBytes/record, slowBytes)
}

// countingListener counts the bytes written to each accepted connection,
// by order of acceptance.
type countingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []*countingConn
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countingConn{Conn: c}
	l.mu.Lock()
	l.conns = append(l.conns, cc)
	l.mu.Unlock()
	return cc, nil
}

func (l *countingListener) written(i int) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i >= len(l.conns) {
		return 0
	}
	return l.conns[i].n.Load()
}

type countingConn struct {
	net.Conn
	n atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}
