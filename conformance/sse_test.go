package conformance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// refSSEClient is an EventSource client written in the test on the
// harness's stream reader: it connects to url, dispatches events, and
// reconnects after 20 ms with Last-Event-ID until a response that is not
// an event stream (or 204). keepNUL breaks it: ids holding U+0000 are
// taken instead of ignored.
func refSSEClient(ctx context.Context, url string, keepNUL bool) []sseEvent {
	var out []sseEvent
	lastID := ""
	for range 10 {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		req.Header.Set("Accept", "text/event-stream")
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return out
		}
		mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if resp.StatusCode != 200 || mt != "text/event-stream" {
			resp.Body.Close()
			return out
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if keepNUL {
			body = bytes.ReplaceAll(body, []byte("x\x00y"), []byte("xy"))
		}
		r := &sseReader{br: bufio.NewReader(bytes.NewReader(bytes.ToValidUTF8(body, []byte("\uFFFD")))), lastID: lastID}
		for {
			ev, err := r.next()
			if err != nil {
				break
			}
			out = append(out, ev)
		}
		lastID = r.lastID
		time.Sleep(20 * time.Millisecond)
	}
	return out
}

func runSSEClientCases(t *testing.T, keepNUL bool) *Report {
	t.Helper()
	s, err := NewSSEClientServer(&Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/cases")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct{ ID, URL string }
	json.NewDecoder(resp.Body).Decode(&cases)
	resp.Body.Close()
	if len(cases) != s.CaseCount() {
		t.Fatalf("/cases lists %d cases, want %d", len(cases), s.CaseCount())
	}
	for _, c := range cases {
		evs := refSSEClient(context.Background(), srv.URL+c.URL+"?agent=ref", keepNUL)
		var body bytes.Buffer
		for _, e := range evs {
			json.NewEncoder(&body).Encode(e)
		}
		resp, err := http.Post(srv.URL+"/report/"+c.ID+"?agent=ref", "application/json", &body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	return s.Report("ref")
}

func TestSSEClientCases(t *testing.T) {
	t.Run("reference client", func(t *testing.T) {
		checkStrict(t, runSSEClientCases(t, false))
	})
	t.Run("client keeping ids with NUL", func(t *testing.T) {
		if got := failedIDs(runSSEClientCases(t, true)); !slices.Equal(got, []string{"1.10"}) {
			t.Errorf("FAILED cases = %v, want [1.10]", got)
		}
	})
}

// testSSEServer streams numbered events, replays from Last-Event-ID and
// sends a keep-alive comment between events. contentType breaks it.
func testSSEServer(contentType string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		rc := http.NewResponseController(w)
		next := 1
		if id, err := strconv.Atoi(r.Header.Get("Last-Event-ID")); err == nil {
			next = id + 1
		}
		for i := next; i < next+1000; i++ {
			if _, err := fmt.Fprintf(w, "id: %d\nretry: 1000\ndata: event %d\n\n: keep-alive\n\n", i, i); err != nil {
				return
			}
			rc.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

func TestSSEServerCases(t *testing.T) {
	run := func(ct string) *Report {
		srv := httptest.NewServer(testSSEServer(ct))
		defer srv.Close()
		rep, err := RunSSEServer(context.Background(), &Options{URL: srv.URL + "/events", Parallel: 5, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	t.Run("good server", func(t *testing.T) {
		rep := run("text/event-stream; charset=utf-8")
		checkStrict(t, rep)
		for _, r := range rep.Results {
			if r.Behavior != OK {
				t.Errorf("case %s = %v (%s), want OK", r.ID, r.Behavior, r.BehaviorReason)
			}
		}
	})
	t.Run("text/plain server", func(t *testing.T) {
		if got := failedIDs(run("text/plain")); !slices.Equal(got, []string{"1.1"}) {
			t.Errorf("FAILED cases = %v, want [1.1]", got)
		}
	})
}

// TestSSEReaderChecks feeds the sse-server stream checker lines it must
// flag and lines it must accept.
func TestSSEReaderChecks(t *testing.T) {
	tests := []struct {
		name, stream string
		problems     int
		events       []sseEvent
	}{
		{"well formed", "id: 1\ndata: a\n\n: c\nevent: e\ndata: b\r\n\r\n", 0, []sseEvent{{Type: "message", Data: "a", LastEventID: "1", ID: "1", HasID: true}, {Type: "e", Data: "b", LastEventID: "1"}}},
		{"bad retry", "retry: 10s\ndata: a\n\n", 1, []sseEvent{{Type: "message", Data: "a"}}},
		{"NUL id", "id: a\x00\ndata: a\n\n", 1, []sseEvent{{Type: "message", Data: "a"}}},
		{"not UTF-8", "data: \xff\n\n", 1, []sseEvent{{Type: "message", Data: "\xff"}}},
		{"unknown field", "x: 1\ndata: a\n\n", 1, []sseEvent{{Type: "message", Data: "a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &sseReader{br: bufio.NewReader(strings.NewReader(tt.stream))}
			var got []sseEvent
			for {
				ev, err := r.next()
				if err != nil {
					break
				}
				got = append(got, ev)
			}
			if len(r.problems) != tt.problems || !slices.Equal(got, tt.events) {
				t.Errorf("read(%q) = %+v, problems %q; want %+v, %d problems", tt.stream, got, r.problems, tt.events, tt.problems)
			}
		})
	}
}
