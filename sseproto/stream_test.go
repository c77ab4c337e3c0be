package sseproto

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// recordWriter is an http.ResponseWriter with deadlines that records what
// happens to it. It is safe for concurrent use.
type recordWriter struct {
	mu        sync.Mutex
	header    http.Header
	code      int
	body      bytes.Buffer
	flushes   int
	deadlines []time.Time
	writeErr  error
}

func newRecordWriter() *recordWriter { return &recordWriter{header: make(http.Header)} }

func (w *recordWriter) Header() http.Header { return w.header }

func (w *recordWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.code == 0 {
		w.code = code
	}
}

func (w *recordWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.writeErr != nil {
		return 0, w.writeErr
	}
	return w.body.Write(p)
}

func (w *recordWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushes++
}

func (w *recordWriter) SetWriteDeadline(t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deadlines = append(w.deadlines, t)
	return nil
}

func (w *recordWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.body.String()
}

func TestNewStream(t *testing.T) {
	w := newRecordWriter()
	w.Header().Set("Content-Length", "10")
	r := httptest.NewRequest("GET", "/events", nil)
	s, err := NewStream(w, r, &StreamOptions{Retry: 2500 * time.Millisecond})
	if err != nil {
		t.Fatalf("NewStream() = %v", err)
	}
	wantHeader := http.Header{
		"Content-Type":      {"text/event-stream"},
		"Cache-Control":     {"no-store"},
		"X-Accel-Buffering": {"no"},
	}
	if !reflect.DeepEqual(w.header, wantHeader) {
		t.Errorf("NewStream header = %v, want %v", w.header, wantHeader)
	}
	if w.code != http.StatusOK || w.flushes != 1 {
		t.Errorf("NewStream status %d, flushes %d, want 200, 1", w.code, w.flushes)
	}
	if err := s.Send(Event{Type: "add", ID: "1", Data: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Comment("hi"); err != nil {
		t.Fatal(err)
	}
	const want = "retry: 2500\n\nevent: add\nid: 1\ndata: x\n\n: hi\n"
	if got := w.String(); got != want {
		t.Errorf("stream body = %q, want %q", got, want)
	}
	if w.flushes != 3 {
		t.Errorf("flushes after Send and Comment = %d, want 3", w.flushes)
	}
	if len(w.deadlines) != 3 {
		t.Errorf("write deadlines set = %d, want one per write (3)", len(w.deadlines))
	}
}

// noFlushWriter cannot flush.
type noFlushWriter struct{ h http.Header }

func (w noFlushWriter) Header() http.Header         { return w.h }
func (w noFlushWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w noFlushWriter) WriteHeader(int)             {}

func TestNewStreamCannotFlush(t *testing.T) {
	_, err := NewStream(noFlushWriter{make(http.Header)}, httptest.NewRequest("GET", "/", nil), nil)
	if !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("NewStream(writer without Flush) = %v, want an error wrapping %v", err, http.ErrNotSupported)
	}
}

func TestStreamSendInvalid(t *testing.T) {
	w := newRecordWriter()
	s, err := NewStream(w, httptest.NewRequest("GET", "/", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(Event{ID: "1\n2", Data: "x"}); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("Send(id with LF) = %v, want %v", err, ErrInvalidEvent)
	}
	if err := s.Send(Event{Data: "ok"}); err != nil {
		t.Errorf("Send after a refused event = %v, want nil", err)
	}
	if got, want := w.String(), "data: ok\n\n"; got != want {
		t.Errorf("stream body = %q, want %q", got, want)
	}
}

func TestStreamWriteErrorIsSticky(t *testing.T) {
	w := newRecordWriter()
	s, err := NewStream(w, httptest.NewRequest("GET", "/", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	w.writeErr = boom
	if err := s.Send(Event{Data: "x"}); err != boom {
		t.Errorf("Send on a failing connection = %v, want %v", err, boom)
	}
	w.writeErr = nil
	if err := s.Comment(""); err != boom {
		t.Errorf("Comment after a failed write = %v, want %v", err, boom)
	}
}

// Concurrent senders never interleave events.
func TestStreamSendConcurrent(t *testing.T) {
	w := newRecordWriter()
	s, err := NewStream(w, httptest.NewRequest("GET", "/", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				if err := s.Send(Event{Type: fmt.Sprint("g", g), Data: fmt.Sprintf("%d\n%d", i, i)}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got, _, err := decodeAll(bytes.NewReader(w.body.Bytes()), nil)
	if err != nil || len(got) != 400 {
		t.Fatalf("decode(stream) = %d events, %v, want 400, nil", len(got), err)
	}
	next := map[string]int{}
	for _, e := range got {
		if want := fmt.Sprintf("%d\n%d", next[e.Type], next[e.Type]); e.Data != want {
			t.Fatalf("event of %s = %q, want %q", e.Type, e.Data, want)
		}
		next[e.Type]++
	}
}

// Run writes events as they come, a keep-alive comment only after
// KeepAlive without a write, and moves the write deadline before each
// write.
func TestStreamRunKeepAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newRecordWriter()
		r := httptest.NewRequest("GET", "/", nil)
		s, err := NewStream(w, r, &StreamOptions{KeepAlive: 15 * time.Second, WriteTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		events := make(chan Event)
		done := make(chan error)
		go func() { done <- s.Run(context.Background(), events) }()

		time.Sleep(15 * time.Second) // t=15s: first keep-alive
		synctest.Wait()
		if got, want := w.String(), ":\n"; got != want {
			t.Fatalf("body after 15 s idle = %q, want %q", got, want)
		}
		time.Sleep(5 * time.Second) // t=20s: an event restarts the timer
		events <- Event{Data: "a"}
		time.Sleep(14 * time.Second) // t=34s: quiet for 14 s only
		synctest.Wait()
		if got, want := w.String(), ":\ndata: a\n\n"; got != want {
			t.Fatalf("body 14 s after an event = %q, want %q", got, want)
		}
		time.Sleep(1 * time.Second) // t=35s
		synctest.Wait()
		if got, want := w.String(), ":\ndata: a\n\n:\n"; got != want {
			t.Fatalf("body 15 s after an event = %q, want %q", got, want)
		}
		close(events)
		if err := <-done; err != nil {
			t.Errorf("Run after events closed = %v, want nil", err)
		}
		wantDeadlines := []time.Time{
			start.Add(5 * time.Second),  // NewStream
			start.Add(20 * time.Second), // keep-alive at 15 s
			start.Add(25 * time.Second), // event at 20 s
			start.Add(40 * time.Second), // keep-alive at 35 s
		}
		if !reflect.DeepEqual(w.deadlines, wantDeadlines) {
			t.Errorf("write deadlines = %v, want %v", w.deadlines, wantDeadlines)
		}
	})
}

func TestStreamRunStops(t *testing.T) {
	tests := []struct {
		name string
		stop func(cancelReq, cancelRun context.CancelFunc, events chan Event)
		want error
	}{
		{name: "events closed", stop: func(_, _ context.CancelFunc, events chan Event) { close(events) }, want: nil},
		{name: "client gone", stop: func(cancelReq, _ context.CancelFunc, _ chan Event) { cancelReq() }, want: context.Canceled},
		{name: "ctx done", stop: func(_, cancelRun context.CancelFunc, _ chan Event) { cancelRun() }, want: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				reqCtx, cancelReq := context.WithCancel(context.Background())
				defer cancelReq()
				runCtx, cancelRun := context.WithCancel(context.Background())
				defer cancelRun()
				w := newRecordWriter()
				s, err := NewStream(w, httptest.NewRequest("GET", "/", nil).WithContext(reqCtx), nil)
				if err != nil {
					t.Fatal(err)
				}
				events := make(chan Event)
				done := make(chan error)
				go func() { done <- s.Run(runCtx, events) }()
				time.Sleep(time.Minute + time.Second) // keep-alives only
				tc.stop(cancelReq, cancelRun, events)
				if err := <-done; err != tc.want {
					t.Errorf("Run after %s = %v, want %v", tc.name, err, tc.want)
				}
				if got, want := w.String(), ":\n:\n:\n:\n"; got != want {
					t.Errorf("body after a minute idle = %q, want %q", got, want)
				}
			})
		})
	}
}

func TestStreamRunWriteError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newRecordWriter()
		s, err := NewStream(w, httptest.NewRequest("GET", "/", nil), nil)
		if err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		w.writeErr = boom
		if err := s.Run(context.Background(), make(chan Event)); err != boom {
			t.Errorf("Run when the keep-alive write fails = %v, want %v", err, boom)
		}
	})
}

// A real server: each event reaches the client as soon as it is sent.
func TestStreamFlushesEachEvent(t *testing.T) {
	sent := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := NewStream(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		if err := s.Send(Event{ID: "1", Data: "first"}); err != nil {
			t.Error(err)
		}
		close(sent)
		<-release
	}))
	defer srv.Close()
	defer close(release)
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q, want text/event-stream", ct)
	}
	<-sent
	e, err := NewDecoder(resp.Body, nil).Next()
	if err != nil || e != ev("message", "first", "1") {
		t.Errorf("first event while the handler still runs = %+v, %v, want %+v", e, err, ev("message", "first", "1"))
	}
}

// The handler's Run ends when the client goes away.
func TestStreamClientGoesAway(t *testing.T) {
	runErr := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := NewStream(w, r, nil)
		if err != nil {
			runErr <- err
			return
		}
		events := make(chan Event, 1)
		events <- Event{Data: "hello"}
		runErr <- s.Run(context.Background(), events)
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewDecoder(resp.Body, nil).Next(); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case err := <-runErr:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after the client left = %v, want %v", err, context.Canceled)
		}
	case <-time.After(10 * time.Second): // safety net only
		t.Fatal("Run did not return after the client left")
	}
}

// A server with WriteTimeout cuts a stream whose deadline nobody moves;
// the Stream moves it, so the stream outlives the timeout.
func TestStreamOutlivesServerWriteTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	tests := []struct {
		name         string
		writeTimeout time.Duration
		wantEvents   int
	}{
		{name: "deadline extended", writeTimeout: 0, wantEvents: 2},
		{name: "deadline left alone", writeTimeout: -1, wantEvents: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, err := NewStream(w, r, &StreamOptions{WriteTimeout: tc.writeTimeout})
				if err != nil {
					t.Error(err)
					return
				}
				_ = s.Send(Event{Data: "1"})
				time.Sleep(3 * timeout)
				_ = s.Send(Event{Data: "2"})
			}))
			srv.Config.WriteTimeout = timeout
			srv.Start()
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _, _ := decodeAll(bufio.NewReader(resp.Body), nil)
			if len(got) != tc.wantEvents {
				t.Errorf("events through a server with WriteTimeout %v = %q, want %d", timeout, got, tc.wantEvents)
			}
		})
	}
}

func TestLastEventID(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		want   string
	}{
		{name: "none", want: ""},
		{name: "id", header: []string{"42"}, want: "42"},
		{name: "unicode", header: []string{"☃"}, want: "☃"},
		{name: "NUL", header: []string{"4\x002"}, want: ""},
		{name: "first of two", header: []string{"1", "2"}, want: "1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header["Last-Event-Id"] = tc.header
			if got := LastEventID(r); got != tc.want {
				t.Errorf("LastEventID(%q) = %q, want %q", tc.header, got, tc.want)
			}
		})
	}
}

func TestNoContent(t *testing.T) {
	w := httptest.NewRecorder()
	NoContent(w)
	if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Errorf("NoContent wrote %d %q, want 204 and no body", w.Code, w.Body.String())
	}
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header              { return w.h }
func (w discardWriter) Write(p []byte) (int, error)      { return len(p), nil }
func (w discardWriter) WriteHeader(int)                  {}
func (w discardWriter) Flush()                           {}
func (w discardWriter) SetWriteDeadline(time.Time) error { return nil }

func TestStreamSendAllocs(t *testing.T) {
	s, err := NewStream(discardWriter{make(http.Header)}, httptest.NewRequest("GET", "/", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := Event{Type: "update", ID: "123", Data: "{\"price\":1}"}
	_ = s.Send(e)
	if n := testing.AllocsPerRun(1000, func() { _ = s.Send(e) }); n != 0 {
		t.Errorf("allocations per Stream.Send = %v, want 0", n)
	}
}
