package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// sseServer answers the n-th request (from 0) with bodies[n] as an event
// stream, and with 204 No Content after the last one.
func sseServer(t *testing.T, bodies ...string) (*httptest.Server, *[]http.Header) {
	t.Helper()
	var mu sync.Mutex
	var headers []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n := len(headers)
		headers = append(headers, r.Header.Clone())
		mu.Unlock()
		if n >= len(bodies) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, bodies[n])
	}))
	t.Cleanup(srv.Close)
	return srv, &headers
}

func runSSEArgs(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runSSE(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunSSEJSON(t *testing.T) {
	srv, _ := sseServer(t,
		"retry: 1\nid: 1\nevent: tick\ndata: a \"<b>\" & c\n\n"+
			"data: two\ndata: lines\n\n",
		"data: after reconnecting\n\n")
	code, stdout, stderr := runSSEArgs("-json", srv.URL)
	want := `{"type":"tick","data":"a \"<b>\" & c","lastEventId":"1"}` + "\n" +
		`{"type":"message","data":"two\nlines","lastEventId":"1"}` + "\n" +
		`{"type":"message","data":"after reconnecting","lastEventId":"1"}` + "\n"
	if code != 0 || stdout != want || stderr != "" {
		t.Errorf("runSSE(-json) = %d, stdout %q, stderr %q; want 0, %q, \"\"", code, stdout, stderr, want)
	}
}

func TestRunSSELimit(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 1; i <= 5; i++ {
			io.WriteString(w, "id: "+strconv.Itoa(i)+"\ndata: "+strconv.Itoa(i)+"\n\n")
		}
		w.(http.Flusher).Flush()
		select { // hold the stream open: only -n can end the client
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	code, stdout, stderr := runSSEArgs("-json", "-n", "3", srv.URL)
	want := `{"type":"message","data":"1","lastEventId":"1"}` + "\n" +
		`{"type":"message","data":"2","lastEventId":"2"}` + "\n" +
		`{"type":"message","data":"3","lastEventId":"3"}` + "\n"
	if code != 0 || stdout != want || stderr != "" {
		t.Errorf("runSSE(-n 3) = %d, stdout %q, stderr %q; want 0, %q, \"\"", code, stdout, stderr, want)
	}
}

func TestRunSSENoContent(t *testing.T) {
	srv, headers := sseServer(t)
	code, stdout, stderr := runSSEArgs("-json", "-last-event-id", "41", srv.URL)
	if code != 0 || stdout != "" || stderr != "" {
		t.Errorf("runSSE against 204 = %d, stdout %q, stderr %q; want 0 and no output", code, stdout, stderr)
	}
	if got := (*headers)[0].Get("Last-Event-ID"); got != "41" {
		t.Errorf("Last-Event-ID sent with -last-event-id 41 = %q, want %q", got, "41")
	}
}

func TestRunSSEHuman(t *testing.T) {
	srv, _ := sseServer(t, "retry: 1\nid: 7\nevent: tick\ndata: 3\n\ndata: a\ndata: b\x1b[2J\n\n")
	code, stdout, stderr := runSSEArgs(srv.URL)
	const want = "tick #7: 3\nmessage #7: a\n  b\\u001b[2J\n"
	if code != 0 || stdout != want {
		t.Errorf("runSSE = %d, stdout %q; want 0, %q", code, stdout, want)
	}
	if stderr != "pushwire sse: reconnecting: EOF\n" {
		t.Errorf("runSSE stderr = %q, want one reconnection notice", stderr)
	}
}

func TestRunSSEFatal(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ctype  string
		want   string
	}{
		{name: "wrong content type", status: 200, ctype: "text/html; charset=utf-8",
			want: `pushwire sse: sseproto: server answered Content-Type "text/html; charset=utf-8", want text/event-stream` + "\n"},
		{name: "not found", status: 404, ctype: "text/event-stream",
			want: "pushwire sse: sseproto: server answered 404 Not Found, want 200\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				io.WriteString(w, "data: no\n\n")
			}))
			defer srv.Close()
			for _, mode := range [][]string{{"-json"}, nil} {
				code, stdout, stderr := runSSEArgs(append(mode, srv.URL)...)
				if code == 0 || stdout != "" || stderr != tc.want {
					t.Errorf("runSSE(%q) = %d, stdout %q, stderr %q; want non-zero, \"\", %q", mode, code, stdout, stderr, tc.want)
				}
			}
		})
	}
}

func TestRunSSEUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{name: "no URL", args: nil, wantCode: 2},
		{name: "two URLs", args: []string{"http://a/", "http://b/"}, wantCode: 2},
		{name: "negative n", args: []string{"-n", "-1", "http://a/"}, wantCode: 2},
		{name: "unknown flag", args: []string{"-x", "http://a/"}, wantCode: 2},
		{name: "not http", args: []string{"ftp://a/"}, wantCode: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runSSEArgs(tc.args...)
			if code != tc.wantCode || stdout != "" || stderr == "" {
				t.Errorf("runSSE(%q) = %d, stdout %q, stderr %q; want %d, no output, a message", tc.args, code, stdout, stderr, tc.wantCode)
			}
			if tc.wantCode == 1 && strings.Count(stderr, "\n") != 1 {
				t.Errorf("runSSE(%q) stderr = %q, want one line", tc.args, stderr)
			}
		})
	}
}

func TestRunSSEInterrupted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	done := make(chan int)
	go func() { done <- runSSE(ctx, []string{"-json", srv.URL}, &out, &errb) }()
	cancel()
	if code := <-done; code != 130 || out.Len() != 0 || errb.Len() != 0 {
		t.Errorf("runSSE cancelled = %d, stdout %q, stderr %q; want 130, no output", code, out.String(), errb.String())
	}
}

// serveEvents runs h for one request with the given Last-Event-ID, from
// `at` after h's start until `until`, and returns the body.
func serveEvents(t *testing.T, h *eventsHandler, lastID string, at, until time.Duration) string {
	t.Helper()
	time.Sleep(time.Until(h.start.Add(at)))
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequest("GET", "/events", nil).WithContext(ctx)
	if lastID != "" {
		r.Header.Set("Last-Event-ID", lastID)
	}
	w := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		h.ServeHTTP(w, r)
		close(done)
	}()
	time.Sleep(until - at)
	cancel()
	<-done
	if ct := w.Header().Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q, want text/event-stream", ct)
	}
	return w.Body.String()
}

func TestEventsHandler(t *testing.T) {
	// Inside the bubble the clock starts at 2000-01-01 00:00:00 UTC.
	tests := []struct {
		name      string
		lastID    string
		at, until time.Duration
		want      string
	}{
		{name: "fresh", at: 500 * time.Millisecond, until: 2500 * time.Millisecond,
			want: "id: 1\ndata: 2000-01-01T00:00:01Z\n\n" +
				"event: tick\nid: 2\ndata: 1\n\n" +
				"id: 3\ndata: 2000-01-01T00:00:02Z\n\n" +
				"event: tick\nid: 4\ndata: 2\n\n"},
		{name: "replays what was missed", lastID: "6", at: 5500 * time.Millisecond, until: 6500 * time.Millisecond,
			want: "id: 7\ndata: 2000-01-01T00:00:04Z\n\n" +
				"event: tick\nid: 8\ndata: 4\n\n" +
				"id: 9\ndata: 2000-01-01T00:00:05Z\n\n" +
				"event: tick\nid: 10\ndata: 5\n\n" +
				"id: 11\ndata: 2000-01-01T00:00:06Z\n\n" +
				"event: tick\nid: 12\ndata: 6\n\n"},
		{name: "replay is bounded", lastID: "1", at: 5500 * time.Millisecond, until: 5600 * time.Millisecond,
			want: "id: 7\ndata: 2000-01-01T00:00:04Z\n\n" +
				"event: tick\nid: 8\ndata: 4\n\n" +
				"id: 9\ndata: 2000-01-01T00:00:05Z\n\n" +
				"event: tick\nid: 10\ndata: 5\n\n"},
		{name: "unknown id starts afresh", lastID: "soon", at: 1500 * time.Millisecond, until: 2500 * time.Millisecond,
			want: "id: 3\ndata: 2000-01-01T00:00:02Z\n\n" +
				"event: tick\nid: 4\ndata: 2\n\n"},
		{name: "id from the future starts afresh", lastID: "99", at: 1500 * time.Millisecond, until: 2500 * time.Millisecond,
			want: "id: 3\ndata: 2000-01-01T00:00:02Z\n\n" +
				"event: tick\nid: 4\ndata: 2\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newEventsHandler().(*eventsHandler)
				h.maxReplay = 4
				if got := serveEvents(t, h, tc.lastID, tc.at, tc.until); got != tc.want {
					t.Errorf("/events with Last-Event-ID %q from %v to %v = %q, want %q", tc.lastID, tc.at, tc.until, got, tc.want)
				}
			})
		})
	}
}

func TestEventsHandlerHead(t *testing.T) {
	w := httptest.NewRecorder()
	newEventsHandler().ServeHTTP(w, httptest.NewRequest("HEAD", "/events", nil))
	if ct := w.Header().Get("Content-Type"); w.Code != 200 || ct != "text/event-stream" || w.Body.Len() != 0 {
		t.Errorf("HEAD /events = %d, Content-Type %q, body %q; want 200, text/event-stream, none", w.Code, ct, w.Body.String())
	}
}
