package sseproto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// waits records the delays a Client asked to wait, without waiting. After
// limit waits it cancels the run instead.
type waits struct {
	mu     sync.Mutex
	delays []time.Duration
	limit  int
	cancel context.CancelFunc
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.delays = append(w.delays, d)
	n := len(w.delays)
	w.mu.Unlock()
	if w.limit > 0 && n >= w.limit && w.cancel != nil {
		w.cancel()
	}
	return ctx.Err()
}

func (w *waits) get() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.delays...)
}

// newTestClient returns a Client for srv whose waits are recorded, not
// slept, and whose jitter is jitter.
func newTestClient(t *testing.T, srv *httptest.Server, path string, opts *ClientOptions, jitter float64) (*Client, *waits) {
	t.Helper()
	if opts == nil {
		opts = &ClientOptions{}
	}
	// No keep-alive: net/http retries a GET on a reused connection that
	// the server drops, which would hide the drop from the Client.
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	t.Cleanup(tr.CloseIdleConnections)
	opts.HTTPClient = &http.Client{Transport: tr}
	c, err := NewClient(srv.URL+path, opts)
	if err != nil {
		t.Fatal(err)
	}
	w := &waits{}
	c.sleep = w.sleep
	c.jitter = func() float64 { return jitter }
	return c, w
}

// collect runs c and returns the events and Run's result.
func collect(ctx context.Context, c *Client) ([]Event, error) {
	var got []Event
	err := c.Run(ctx, func(e Event) error {
		got = append(got, e)
		return nil
	})
	return got, err
}

// script is a test server that answers its n-th request (from 0) with
// steps[n], or 204 after the last step, and records the requests.
type script struct {
	mu    sync.Mutex
	reqs  []*http.Request
	steps []func(w http.ResponseWriter, r *http.Request)
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.reqs)
	s.reqs = append(s.reqs, r.Clone(context.Background()))
	s.mu.Unlock()
	if n >= len(s.steps) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.steps[n](w, r)
}

func (s *script) requests() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*http.Request(nil), s.reqs...)
}

// send answers with an event stream holding body, then ends it.
func send(body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, body)
	}
}

// drop ends the connection without any response: a network error.
func drop(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

func TestClientRequestHeaders(t *testing.T) {
	s := &script{steps: []func(http.ResponseWriter, *http.Request){send("id: 5\ndata: a\n\n")}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, _ := newTestClient(t, srv, "/events", &ClientOptions{
		Header: http.Header{"Authorization": {"Bearer x"}, "Accept": {"text/html"}, "Last-Event-Id": {"stale"}},
	}, 1)
	if _, err := collect(context.Background(), c); err != nil {
		t.Fatalf("Run() = %v, want nil", err)
	}
	reqs := s.requests()
	if len(reqs) != 2 {
		t.Fatalf("requests = %d, want 2", len(reqs))
	}
	for i, r := range reqs {
		for name, want := range map[string]string{
			"Accept":        "text/event-stream",
			"Cache-Control": "no-store",
			"Authorization": "Bearer x",
		} {
			if got := r.Header.Get(name); got != want {
				t.Errorf("request %d header %s = %q, want %q", i, name, got, want)
			}
		}
		if r.Method != http.MethodGet || r.URL.Path != "/events" {
			t.Errorf("request %d = %s %s, want GET /events", i, r.Method, r.URL.Path)
		}
	}
	// §9.2.3: Last-Event-ID only when the last event ID string is not empty.
	if v, ok := reqs[0].Header["Last-Event-Id"]; ok {
		t.Errorf("first request Last-Event-ID = %q, want none", v)
	}
	if got := reqs[1].Header.Get("Last-Event-ID"); got != "5" {
		t.Errorf("second request Last-Event-ID = %q, want %q", got, "5")
	}
}

func TestClientLastEventIDOption(t *testing.T) {
	s := &script{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, _ := newTestClient(t, srv, "/", &ClientOptions{LastEventID: "41"}, 1)
	if _, err := collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if got := s.requests()[0].Header.Get("Last-Event-ID"); got != "41" {
		t.Errorf("first request Last-Event-ID = %q, want %q", got, "41")
	}
}

// The last event ID goes back on reconnection and stays in force for
// events without an id field; an empty id field resets it, and then no
// Last-Event-ID is sent.
func TestClientReconnectsWithLastEventID(t *testing.T) {
	s := &script{steps: []func(http.ResponseWriter, *http.Request){
		send("id: 1\ndata: a\n\n"),
		send("data: b\n\nid: 2\n\n"),
		send("id\ndata: c\n\n"),
		send("data: d\n\nid: 9\ndata: lost\n"),
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, w := newTestClient(t, srv, "/", nil, 1)
	got, err := collect(context.Background(), c)
	if err != nil {
		t.Fatalf("Run() = %v, want nil after 204", err)
	}
	want := []Event{ev("message", "a", "1"), ev("message", "b", "1"), ev("message", "c", ""), ev("message", "d", "")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	var sent []string
	for _, r := range s.requests() {
		sent = append(sent, fmt.Sprint(r.Header["Last-Event-Id"]))
	}
	if want := []string{"[]", "[1]", "[2]", "[]", "[]"}; !reflect.DeepEqual(sent, want) {
		t.Errorf("Last-Event-ID headers sent = %q, want %q", sent, want)
	}
	if want := []time.Duration{3 * time.Second, 3 * time.Second, 3 * time.Second, 3 * time.Second}; !reflect.DeepEqual(w.get(), want) {
		t.Errorf("waits = %v, want %v (the default reconnection time)", w.get(), want)
	}
}

// An id that net/http cannot send (a control character) is still the
// last event ID, but the reconnection goes without Last-Event-ID rather
// than failing for ever.
func TestClientUnsendableLastEventID(t *testing.T) {
	s := &script{steps: []func(http.ResponseWriter, *http.Request){send("id: a\x01b\ndata: x\n\n")}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, _ := newTestClient(t, srv, "/", nil, 1)
	got, err := collect(context.Background(), c)
	if want := []Event{ev("message", "x", "a\x01b")}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Run() = %q, %v, want %q, nil", got, err, want)
	}
	if v, ok := s.requests()[1].Header["Last-Event-Id"]; ok {
		t.Errorf("Last-Event-ID sent for an id with a control character = %q, want none", v)
	}
}

func TestClientRetryHonoured(t *testing.T) {
	s := &script{steps: []func(http.ResponseWriter, *http.Request){
		send("retry: 1234\ndata: a\n\n"),
		send("data: b\n\n"),            // keeps 1234
		send("retry: 7x\ndata: c\n\n"), // bogus: ignored
		send("retry: 50\n"),            // set without an event: still counts
		send("data: d\n\n"),
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, w := newTestClient(t, srv, "/", nil, 1)
	if _, err := collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{
		1234 * time.Millisecond,
		1234 * time.Millisecond,
		1234 * time.Millisecond,
		500 * time.Millisecond, // no event: backoff, max(retry 50ms, floor 250ms) doubled
		50 * time.Millisecond,
	}
	if !reflect.DeepEqual(w.get(), want) {
		t.Errorf("waits = %v, want %v", w.get(), want)
	}
}

func TestClientNoContentStops(t *testing.T) {
	s := &script{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	var states []string
	c, w := newTestClient(t, srv, "/", &ClientOptions{OnStateChange: func(st State, err error) {
		states = append(states, fmt.Sprint(st, " ", err))
	}}, 1)
	if err := c.Run(context.Background(), func(Event) error { return nil }); err != nil {
		t.Errorf("Run() against 204 = %v, want nil", err)
	}
	if n := len(s.requests()); n != 1 || len(w.get()) != 0 {
		t.Errorf("requests %d, waits %v after 204, want 1 request and no wait", n, w.get())
	}
	if c.State() != Closed || !reflect.DeepEqual(states, []string{"closed <nil>"}) {
		t.Errorf("state %v, changes %q, want closed, [closed <nil>]", c.State(), states)
	}
}

// A status other than 200 or a wrong type fails the connection for good
// (web-platform-tests request-status-error, format-mime-*).
func TestClientFailsForGood(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ctype  string
	}{
		{name: "205", status: 205, ctype: "text/event-stream"},
		{name: "210", status: 210, ctype: "text/event-stream"},
		{name: "299", status: 299, ctype: "text/event-stream"},
		{name: "404", status: 404, ctype: "text/event-stream"},
		{name: "410", status: 410, ctype: "text/event-stream"},
		{name: "500", status: 500, ctype: "text/event-stream"},
		{name: "503", status: 503, ctype: "text/event-stream"},
		{name: "300 without Location", status: 300, ctype: "text/event-stream"},
		{name: "text/plain", status: 200, ctype: "text/plain"},
		{name: "text/x-bogus", status: 200, ctype: "text/x-bogus"},
		{name: "x bogus", status: 200, ctype: "x bogus"},
		{name: "missing", status: 200, ctype: ""},
		{name: "prefix only", status: 200, ctype: "text/event-streams"},
		{name: "quoted", status: 200, ctype: `"text/event-stream"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{steps: []func(http.ResponseWriter, *http.Request){func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Content-Type"] = []string{tc.ctype}
				w.WriteHeader(tc.status)
				io.WriteString(w, "data: never\n\n")
			}}}
			srv := httptest.NewServer(s)
			defer srv.Close()
			c, w := newTestClient(t, srv, "/", nil, 1)
			got, err := collect(context.Background(), c)
			want := &ResponseError{StatusCode: tc.status, ContentType: tc.ctype}
			var re *ResponseError
			if !errors.As(err, &re) || *re != *want {
				t.Errorf("Run() against %d %q = %v, want %v", tc.status, tc.ctype, err, want)
			}
			if len(got) != 0 || len(s.requests()) != 1 || len(w.get()) != 0 || c.State() != Closed {
				t.Errorf("events %q, requests %d, waits %v, state %v; want none, 1, none, closed",
					got, len(s.requests()), w.get(), c.State())
			}
		})
	}
}

func TestClientAcceptsContentTypes(t *testing.T) {
	for _, ctype := range []string{
		"text/event-stream",
		"text/event-stream;",                      // format-mime-trailing-semicolon
		"text/event-stream; charset=windows-1252", // format-utf-8: always UTF-8
		"Text/Event-Stream",
		"text/event-stream ; x=y",
	} {
		t.Run(ctype, func(t *testing.T) {
			s := &script{steps: []func(http.ResponseWriter, *http.Request){func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", ctype)
				io.WriteString(w, "data: ok\xE2\x80\xA6\n\n")
			}}}
			srv := httptest.NewServer(s)
			defer srv.Close()
			c, _ := newTestClient(t, srv, "/", nil, 1)
			got, err := collect(context.Background(), c)
			if want := []Event{ev("message", "ok…", "")}; err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Run() with Content-Type %q = %q, %v, want %q, nil", ctype, got, err, want)
			}
		})
	}
}

// Attempts that deliver nothing back off exponentially up to the cap; an
// attempt that delivers an event resets the backoff.
func TestClientBackoff(t *testing.T) {
	empty := send("")
	event := send("data: x\n\n")
	tests := []struct {
		name   string
		steps  []func(http.ResponseWriter, *http.Request)
		jitter float64
		want   []time.Duration
	}{
		{name: "grows and is capped", jitter: 1,
			steps: []func(http.ResponseWriter, *http.Request){empty, empty, empty, empty, empty, empty},
			want:  []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second, 10 * time.Second}},
		{name: "network errors", jitter: 1,
			steps: []func(http.ResponseWriter, *http.Request){drop, drop, drop, drop, drop},
			want:  []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}},
		{name: "least jitter", jitter: 0,
			steps: []func(http.ResponseWriter, *http.Request){empty, empty, empty, empty, empty},
			// half the backoff, but never less than the reconnection time
			want: []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}},
		{name: "reset by an event", jitter: 1,
			steps: []func(http.ResponseWriter, *http.Request){empty, empty, event, empty, event},
			want:  []time.Duration{2 * time.Second, 4 * time.Second, 1 * time.Second, 2 * time.Second, 1 * time.Second}},
		{name: "server retry above the cap wins", jitter: 1,
			steps: []func(http.ResponseWriter, *http.Request){send("retry: 60000\n"), empty},
			want:  []time.Duration{60 * time.Second, 60 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(&script{steps: tc.steps})
			defer srv.Close()
			c, w := newTestClient(t, srv, "/", &ClientOptions{ReconnectTime: time.Second, MaxBackoff: 10 * time.Second}, tc.jitter)
			if _, err := collect(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(w.get(), tc.want) {
				t.Errorf("waits = %v, want %v", w.get(), tc.want)
			}
		})
	}
}

// A server that closes the stream after every event still delivers every
// event exactly once and in order, thanks to Last-Event-ID.
func TestClientServerClosesAfterEveryEvent(t *testing.T) {
	const total = 100
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last, _ := strconv.Atoi(LastEventID(r))
		if last >= total {
			NoContent(w)
			return
		}
		s, err := NewStream(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		_ = s.Send(Event{ID: strconv.Itoa(last + 1), Data: fmt.Sprint("event ", last+1)})
	}))
	defer srv.Close()
	c, w := newTestClient(t, srv, "/", nil, 1)
	got, err := collect(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	var want []Event
	for i := 1; i <= total; i++ {
		want = append(want, ev("message", fmt.Sprint("event ", i), strconv.Itoa(i)))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
	if len(w.get()) != total {
		t.Errorf("reconnections = %d, want %d", len(w.get()), total)
	}
}

// Redirects are followed, and a reconnection goes to the URL the last
// redirect led to (fetch's current URL of the request, whatwg/html#503).
func TestClientRedirects(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			var mu sync.Mutex
			var paths []string
			mux := http.NewServeMux()
			mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				paths = append(paths, r.URL.Path+" "+r.Header.Get("Last-Event-ID"))
				mu.Unlock()
				http.Redirect(w, r, "/stream", code)
			})
			mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				paths = append(paths, r.URL.Path+" "+r.Header.Get("Last-Event-ID")+" "+r.Header.Get("Accept"))
				n := len(paths)
				mu.Unlock()
				if n > 2 {
					NoContent(w)
					return
				}
				send("id: 1\ndata: a\n\n")(w, r)
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			c, _ := newTestClient(t, srv, "/start", nil, 1)
			got, err := collect(context.Background(), c)
			if want := []Event{ev("message", "a", "1")}; err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("Run() through a %d = %q, %v, want %q, nil", code, got, err, want)
			}
			want := []string{"/start ", "/stream  text/event-stream", "/stream 1 text/event-stream"}
			if !reflect.DeepEqual(paths, want) {
				t.Errorf("requests = %q, want %q", paths, want)
			}
		})
	}
}

func TestClientContextCancel(t *testing.T) {
	t.Run("while open", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := NewStream(w, r, nil)
			if err != nil {
				return
			}
			_ = s.Send(Event{Data: "a"})
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c, _ := newTestClient(t, srv, "/", nil, 1)
		err := c.Run(ctx, func(Event) error {
			cancel()
			return nil
		})
		if err != context.Canceled || c.State() != Closed {
			t.Errorf("Run() cancelled while open = %v, state %v, want %v, closed", err, c.State(), context.Canceled)
		}
	})
	t.Run("while waiting", func(t *testing.T) {
		srv := httptest.NewServer(&script{steps: []func(http.ResponseWriter, *http.Request){send(""), send(""), send("")}})
		defer srv.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c, w := newTestClient(t, srv, "/", nil, 1)
		w.limit, w.cancel = 2, cancel
		if _, err := collect(ctx, c); err != context.Canceled {
			t.Errorf("Run() cancelled while waiting = %v, want %v", err, context.Canceled)
		}
		if len(w.get()) != 2 {
			t.Errorf("waits = %v, want 2", w.get())
		}
	})
	t.Run("before", func(t *testing.T) {
		srv := httptest.NewServer(&script{})
		defer srv.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		c, _ := newTestClient(t, srv, "/", nil, 1)
		if _, err := collect(ctx, c); err != context.Canceled {
			t.Errorf("Run() with a done context = %v, want %v", err, context.Canceled)
		}
	})
}

func TestClientCallbackError(t *testing.T) {
	s := &script{steps: []func(http.ResponseWriter, *http.Request){send("data: a\n\ndata: b\n\n")}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, w := newTestClient(t, srv, "/", nil, 1)
	stop := errors.New("stop")
	n := 0
	err := c.Run(context.Background(), func(Event) error { n++; return stop })
	if err != stop || n != 1 || len(w.get()) != 0 {
		t.Errorf("Run() with a callback that fails = %v after %d events and %d waits, want %v after 1 and 0", err, n, len(w.get()), stop)
	}
}

func TestClientEventTooLarge(t *testing.T) {
	s := &script{steps: []func(http.ResponseWriter, *http.Request){
		send("data: ok\n\n" + "data: 0123456789012345678901234567890123456789\n\n"),
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, w := newTestClient(t, srv, "/", &ClientOptions{MaxEventSize: 32}, 1)
	got, err := collect(context.Background(), c)
	if want := []Event{ev("message", "ok", "")}; err != ErrLineTooLong || !reflect.DeepEqual(got, want) || len(w.get()) != 0 {
		t.Errorf("Run() on a too long line = %q, %v, %d waits; want %q, %v, 0", got, err, len(w.get()), want, ErrLineTooLong)
	}
}

func TestClientStates(t *testing.T) {
	s := &script{steps: []func(http.ResponseWriter, *http.Request){send("data: a\n\n"), drop}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	var changes []string
	var c *Client
	c, _ = newTestClient(t, srv, "/", &ClientOptions{OnStateChange: func(st State, err error) {
		if c.State() != st {
			t.Errorf("State() in OnStateChange(%v) = %v", st, c.State())
		}
		reason := "nil"
		if err != nil {
			reason = "error"
		}
		if err == io.EOF {
			reason = "EOF"
		}
		changes = append(changes, st.String()+" "+reason)
	}}, 1)
	if c.State() != Connecting {
		t.Errorf("State() before Run = %v, want connecting", c.State())
	}
	var during State
	err := c.Run(context.Background(), func(Event) error { during = c.State(); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if during != Open {
		t.Errorf("State() while delivering = %v, want open", during)
	}
	want := []string{"open nil", "connecting EOF", "connecting error", "closed nil"}
	if !reflect.DeepEqual(changes, want) {
		t.Errorf("state changes = %q, want %q", changes, want)
	}
}

func TestClientRunTwice(t *testing.T) {
	release := make(chan struct{})
	opened := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if LastEventID(r) == "1" {
			NoContent(w)
			return
		}
		s, err := NewStream(w, r, nil)
		if err != nil {
			return
		}
		_ = s.Send(Event{ID: "1", Data: "a"})
		close(opened)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	c, _ := newTestClient(t, srv, "/", nil, 1)
	stop := errors.New("stop")
	unblock := make(chan struct{})
	done := make(chan error)
	go func() { done <- c.Run(context.Background(), func(Event) error { <-unblock; return stop }) }()
	<-opened
	if err := c.Run(context.Background(), func(Event) error { return nil }); err != errRunning {
		t.Errorf("second concurrent Run() = %v, want %v", err, errRunning)
	}
	close(unblock)
	if err := <-done; err != stop {
		t.Fatalf("first Run() = %v, want %v", err, stop)
	}
	// A later Run resumes from the last event ID.
	if err := c.Run(context.Background(), func(Event) error { return nil }); err != nil || c.LastEventID() != "1" {
		t.Errorf("Run() again = %v with last event ID %q, want nil, %q", err, c.LastEventID(), "1")
	}
}

func TestNewClientInvalidURL(t *testing.T) {
	for _, u := range []string{"", "ftp://example.com/", "http://", "localhost:8080", "://x", "http://a b/"} {
		if c, err := NewClient(u, nil); err == nil {
			t.Errorf("NewClient(%q) = %v, nil, want an error", u, c)
		}
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Connecting: "connecting", Open: "open", Closed: "closed", 7: "State(7)"} {
		if got := s.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", int32(s), got, want)
		}
	}
}

func TestResponseErrorMessage(t *testing.T) {
	tests := []struct {
		err  *ResponseError
		want string
	}{
		{&ResponseError{StatusCode: 404}, "sseproto: server answered 404 Not Found, want 200"},
		{&ResponseError{StatusCode: 200, ContentType: "text/html"}, `sseproto: server answered Content-Type "text/html", want text/event-stream`},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%#v.Error() = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// pipeTransport serves requests in memory: the handler runs on its own
// goroutine and the body flows through an io.Pipe, so a Client and its
// server can live in one synctest bubble, with the Client's real timers.
type pipeTransport struct{ h http.Handler }

type pipeWriter struct {
	pw      *io.PipeWriter
	header  http.Header
	sent    http.Header
	code    int
	once    sync.Once
	started chan struct{}
}

func (w *pipeWriter) Header() http.Header { return w.header }
func (w *pipeWriter) WriteHeader(code int) {
	w.once.Do(func() {
		w.code, w.sent = code, w.header.Clone()
		close(w.started)
	})
}
func (w *pipeWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(p)
}
func (w *pipeWriter) Flush() {}

func (t pipeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	pr, pw := io.Pipe()
	w := &pipeWriter{pw: pw, header: make(http.Header), started: make(chan struct{})}
	go func() {
		t.h.ServeHTTP(w, req)
		w.WriteHeader(http.StatusOK)
		pw.Close()
	}()
	<-w.started
	return &http.Response{StatusCode: w.code, Header: w.sent, Body: pr, Request: req}, nil
}

// With the Client's real timers, in a synctest bubble: the time between
// attempts is exactly the reconnection time the server set, and the
// backoff after a failed attempt.
func TestClientWaitsSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var times []time.Time
		steps := []string{"retry: 1500\ndata: a\n\n", "data: b\n\n", "", "data: c\n\n"}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			n := len(times)
			times = append(times, time.Now())
			mu.Unlock()
			if n >= len(steps) {
				NoContent(w)
				return
			}
			send(steps[n])(w, r)
		})
		c, err := NewClient("http://sse.test/", &ClientOptions{HTTPClient: &http.Client{Transport: pipeTransport{h}}})
		if err != nil {
			t.Fatal(err)
		}
		c.jitter = func() float64 { return 0.5 }
		start := time.Now()
		got, err := collect(context.Background(), c)
		if want := []Event{ev("message", "a", ""), ev("message", "b", ""), ev("message", "c", "")}; err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Run() = %q, %v, want %q, nil", got, err, want)
		}
		var at []time.Duration
		for _, tm := range times {
			at = append(at, tm.Sub(start))
		}
		// 1.5 s, 1.5 s, then after the empty attempt a backoff of
		// 3 s × (1/2 + 0.5/2) = 2.25 s, then 1.5 s.
		want := []time.Duration{0, 1500 * time.Millisecond, 3000 * time.Millisecond, 5250 * time.Millisecond, 6750 * time.Millisecond}
		if !reflect.DeepEqual(at, want) {
			t.Errorf("requests at %v, want %v", at, want)
		}
	})
}

// A Client cancelled while it waits returns at once, in fake time.
func TestClientCancelWhileWaitingSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { send("retry: 60000\n")(w, r) })
		c, err := NewClient("http://sse.test/", &ClientOptions{HTTPClient: &http.Client{Transport: pipeTransport{h}}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		if _, err := collect(ctx, c); err != context.DeadlineExceeded {
			t.Errorf("Run() = %v, want %v", err, context.DeadlineExceeded)
		}
		if d := time.Since(start); d != 10*time.Second {
			t.Errorf("Run() returned after %v, want 10s", d)
		}
	})
}
