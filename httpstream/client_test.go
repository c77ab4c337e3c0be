package httpstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/wsproto"
)

// restartable serves a Handler on a topic that can be replaced by a new
// one, as a server process that restarts with the same shared log would.
type restartable struct {
	tp   hub.Log
	opts *Options
	mu   sync.Mutex
	h    *Handler
	srv  *httptest.Server
}

func newRestartable(t *testing.T, tp hub.Log, opts *Options) *restartable {
	r := &restartable{tp: tp, opts: opts, h: NewHandler(tp, opts)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		h := r.h
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(func() {
		r.mu.Lock()
		r.h.Close()
		r.mu.Unlock()
		r.srv.Close()
	})
	return r
}

// restart ends every stream and poll and serves from a new Handler.
func (r *restartable) restart() {
	r.mu.Lock()
	old := r.h
	r.h = NewHandler(r.tp, r.opts)
	r.mu.Unlock()
	old.Close()
}

// collector gathers what a Client delivers.
type collector struct {
	mu       sync.Mutex
	entries  []string
	gaps     []hub.GapError
	resets   []string
	connects []string
	got      chan struct{}
}

func newCollector() *collector { return &collector{got: make(chan struct{}, 1000)} }

func (c *collector) entry(e hub.Entry) error {
	c.mu.Lock()
	c.entries = append(c.entries, fmt.Sprintf("%d:%s:%s", e.Seq, e.Type, e.Data))
	c.mu.Unlock()
	c.got <- struct{}{}
	return nil
}

func (c *collector) options(transports ...string) *ClientOptions {
	return &ClientOptions{
		Transports: transports,
		MinDelay:   5 * time.Millisecond,
		MaxDelay:   50 * time.Millisecond,
		OnGap: func(g hub.GapError) {
			c.mu.Lock()
			c.gaps = append(c.gaps, g)
			c.mu.Unlock()
		},
		OnReset: func(r hub.ResetError) {
			c.mu.Lock()
			c.resets = append(c.resets, fmt.Sprintf("%s from %s", r.Cursor(), r.From))
			c.mu.Unlock()
		},
		OnConnect: func(transport string) {
			c.mu.Lock()
			c.connects = append(c.connects, transport)
			c.mu.Unlock()
		},
	}
}

// wait waits for n more entries.
func (c *collector) wait(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-c.got:
		case <-time.After(10 * time.Second):
			c.mu.Lock()
			defer c.mu.Unlock()
			t.Fatalf("waiting for entries; have %q", c.entries)
		}
	}
}

func (c *collector) snapshot() (entries []string, gaps []hub.GapError, resets, connects []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.entries...), append([]hub.GapError(nil), c.gaps...), append([]string(nil), c.resets...), append([]string(nil), c.connects...)
}

// run starts c.Run on its own goroutine and returns a function that stops
// it and returns its result.
func run(c *Client, fn func(hub.Entry) error) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, fn) }()
	return func() error {
		cancel()
		return <-done
	}
}

// TestClientResumes: on each transport the client reads the log from
// its cursor, and after the server restarts it reconnects and resumes,
// with nothing lost or repeated.
func TestClientResumes(t *testing.T) {
	for _, transport := range []string{transportWebSocket, transportSSE, transportPoll} {
		t.Run(transport, func(t *testing.T) {
			tp := hub.NewTopic(nil)
			srv := newRestartable(t, tp, &Options{PollTimeout: 200 * time.Millisecond})
			publish(t, tp, "", "one", "two")
			publish(t, tp, "chat", "three")
			col := newCollector()
			opts := col.options(transport)
			opts.Cursor = "oldest"
			c, err := NewClient(srv.srv.URL, opts)
			if err != nil {
				t.Fatal(err)
			}
			stop := run(c, col.entry)
			col.wait(t, 3)
			srv.restart()
			publish(t, tp, "", "four", "five\nlines")
			col.wait(t, 2)
			if err := stop(); !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v, want context.Canceled", err)
			}
			entries, gaps, resets, connects := col.snapshot()
			want := "1::one|2::two|3:chat:three|4::four|5::five\nlines"
			if got := strings.Join(entries, "|"); got != want {
				t.Errorf("entries = %q, want %q", got, want)
			}
			if len(gaps)+len(resets) != 0 {
				t.Errorf("gaps %v, resets %v; want none", gaps, resets)
			}
			// A stream ends with its server and the client reconnects; a
			// held poll is answered by the old server and the next poll
			// simply reaches the new one.
			wantConnects := 2
			if transport == transportPoll {
				wantConnects = 1
			}
			if len(connects) < wantConnects || connects[0] != transport {
				t.Errorf("OnConnect calls = %v, want %s at least %d times", connects, transport, wantConnects)
			}
			if got, want := c.Cursor(), string(tp.Epoch())+":5"; got != want {
				t.Errorf("Cursor() = %q, want %q", got, want)
			}
		})
	}
}

// TestClientGap: a cursor older than the log gets OnGap, then the oldest
// entries held, on every transport.
func TestClientGap(t *testing.T) {
	for _, transport := range []string{transportWebSocket, transportSSE, transportPoll} {
		t.Run(transport, func(t *testing.T) {
			tp := hub.NewTopic(&hub.TopicOptions{MaxEntries: 3})
			srv, _ := serve(t, tp, nil)
			for i := 1; i <= 10; i++ {
				publish(t, tp, "", fmt.Sprint("m", i))
			}
			col := newCollector()
			opts := col.options(transport)
			opts.Cursor = "2"
			c, _ := NewClient(srv.URL, opts)
			stop := run(c, col.entry)
			col.wait(t, 3)
			stop()
			entries, gaps, _, _ := col.snapshot()
			if got := strings.Join(entries, "|"); got != "8::m8|9::m9|10::m10" {
				t.Errorf("entries = %q", got)
			}
			if len(gaps) != 1 || gaps[0] != (hub.GapError{After: 2, Oldest: 8, Lost: 5}) {
				t.Errorf("gaps = %+v, want one of 5 entries after 2", gaps)
			}
		})
	}
}

// TestClientFallback: a server whose WebSockets are refused is read over
// the next transport after two failed attempts.
func TestClientFallback(t *testing.T) {
	tp := hub.NewTopic(nil)
	var refused atomic.Int32
	srv, _ := serve(t, tp, &Options{WebSocket: &wsproto.AcceptOptions{Verify: func(*http.Request) error {
		refused.Add(1)
		return errors.New("no WebSockets here")
	}}})
	publish(t, tp, "", "hello")
	col := newCollector()
	var disconnects []string
	opts := col.options()
	opts.Cursor = "oldest"
	opts.OnDisconnect = func(err error, next string, wait time.Duration) {
		disconnects = append(disconnects, next)
	}
	c, _ := NewClient(srv.URL, opts)
	stop := run(c, col.entry)
	col.wait(t, 1)
	stop()
	_, _, _, connects := col.snapshot()
	if refused.Load() != 2 || fmt.Sprint(connects) != "[sse]" || c.Transport() != "sse" {
		t.Errorf("refused %d WebSockets, connected %v, transport %s; want 2 refusals, then sse", refused.Load(), connects, c.Transport())
	}
	if fmt.Sprint(disconnects) != "[websocket sse]" {
		t.Errorf("OnDisconnect named %v as the next transports, want [websocket sse]", disconnects)
	}
}

// TestClientSend: Send goes to OnPublish; a refusal says why.
func TestClientSend(t *testing.T) {
	tp := hub.NewTopic(nil)
	srv, _ := serve(t, tp, &Options{OnPublish: func(r *http.Request, data []byte) error {
		if string(data) == "spam" {
			return errors.New("no spam")
		}
		_, err := tp.Publish(r.Context(), "said", data)
		return err
	}})
	col := newCollector()
	c, _ := NewClient(srv.URL, col.options(transportWebSocket))
	stop := run(c, col.entry)
	defer stop()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, _, _, connects := col.snapshot(); len(connects) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the client did not connect")
		}
	}
	ctx := context.Background()
	if err := c.Send(ctx, []byte("hi there")); err != nil {
		t.Fatal(err)
	}
	col.wait(t, 1)
	if err := c.Send(ctx, []byte("spam")); err == nil || !strings.Contains(err.Error(), "400 Bad Request: no spam") {
		t.Errorf("Send(spam) = %v, want the refusal", err)
	}
	if entries, _, _, _ := col.snapshot(); fmt.Sprint(entries) != "[1:said:hi there]" {
		t.Errorf("entries = %q", entries)
	}
}

// TestClientReset: a cursor of another history (from a log that was lost,
// or ahead of this one) gets OnReset, then the log from its start, on every
// transport.
func TestClientReset(t *testing.T) {
	for _, transport := range []string{transportWebSocket, transportSSE, transportPoll} {
		for _, from := range []string{"99", "lostepoch:7"} {
			t.Run(transport+"/"+from, func(t *testing.T) {
				tp := hub.NewTopic(nil)
				srv, _ := serve(t, tp, nil)
				publish(t, tp, "", "a", "b")
				col := newCollector()
				opts := col.options(transport)
				opts.Cursor = from
				c, _ := NewClient(srv.URL, opts)
				stop := run(c, col.entry)
				col.wait(t, 2)
				stop()
				entries, _, resets, _ := col.snapshot()
				want := fmt.Sprintf("[%s:0 from %s]", tp.Epoch(), from)
				if fmt.Sprint(entries) != "[1::a 2::b]" || fmt.Sprint(resets) != want {
					t.Errorf("entries %q, resets %q; want a and b after %s", entries, resets, want)
				}
			})
		}
	}
}

// TestClientStops: fn's error ends Run with it; a refusal that retrying
// cannot change ends Run with the status.
func TestClientStops(t *testing.T) {
	tp := hub.NewTopic(nil)
	srv, _ := serve(t, tp, nil)
	publish(t, tp, "", "x")
	c, _ := NewClient(srv.URL, &ClientOptions{Cursor: "oldest"})
	boom := errors.New("boom")
	if err := c.Run(context.Background(), func(hub.Entry) error { return boom }); err != boom {
		t.Errorf("Run = %v, want fn's error", err)
	}
	locked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "log in first", http.StatusUnauthorized)
	}))
	defer locked.Close()
	c, _ = NewClient(locked.URL, &ClientOptions{Transports: []string{"sse", "poll"}})
	err := c.Run(context.Background(), func(hub.Entry) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "401 Unauthorized: log in first") {
		t.Errorf("Run against a 401 = %v, want the refusal", err)
	}
	for _, bad := range []struct {
		url  string
		opts *ClientOptions
	}{
		{"ftp://x/", nil},
		{"http:///", nil},
		{srv.URL, &ClientOptions{Transports: []string{"carrier pigeon"}}},
		{srv.URL, &ClientOptions{Cursor: "-1"}},
	} {
		if _, err := NewClient(bad.url, bad.opts); err == nil {
			t.Errorf("NewClient(%q, %+v) succeeded", bad.url, bad.opts)
		}
	}
}
