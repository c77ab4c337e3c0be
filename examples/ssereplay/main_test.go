package main

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// stream opens /events with a Last-Event-ID and returns a function that
// reads the next n non-empty lines of the stream.
func stream(t *testing.T, url, lastID string) func(n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("response %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	return func(n int) []string {
		var lines []string
		for len(lines) < n && sc.Scan() {
			if sc.Text() != "" {
				lines = append(lines, sc.Text())
			}
		}
		return lines
	}
}

// TestReplay: a client that comes back with Last-Event-ID gets the entries
// after it, then new ones as they are published, and keep-alives between.
func TestReplay(t *testing.T) {
	ctx := context.Background()
	topic := hub.NewTopic(nil)
	for _, m := range []string{"one", "two", "three"} {
		topic.Publish(ctx, "", []byte(m))
	}
	srv := httptest.NewServer(events(topic, 50*time.Millisecond))
	t.Cleanup(srv.Close) // after the streams' cleanups close them
	ep := string(topic.Epoch())
	id := func(seq string) string { return "id: " + ep + ":" + seq }

	next := stream(t, srv.URL, ep+":1")
	if got, want := strings.Join(next(4), "|"), id("2")+"|data: two|"+id("3")+"|data: three"; got != want {
		t.Errorf("replay after 1 = %q, want %q", got, want)
	}
	if got := next(1); len(got) != 1 || got[0] != ":" {
		t.Errorf("after 50 ms of silence: %q, want a keep-alive comment", got)
	}
	topic.Publish(ctx, "note", []byte("four\nlines"))
	if got, want := strings.Join(next(4), "|"), "event: note|"+id("4")+"|data: four|data: lines"; got != want {
		t.Errorf("live entry = %q, want %q", got, want)
	}
	// No Last-Event-ID: from now on only.
	next = stream(t, srv.URL, "")
	topic.Publish(ctx, "", []byte("five"))
	if got, want := strings.Join(next(2), "|"), id("5")+"|data: five"; got != want {
		t.Errorf("first connection = %q, want %q", got, want)
	}
	// An id of another history (the log of a server before its restart,
	// or ahead of this one): a reset, then all that is held.
	for _, old := range []string{"otherepoch:3", ep + ":99"} {
		next = stream(t, srv.URL, old)
		if got, want := strings.Join(next(5), "|"), "event: reset|"+id("0")+"|data: "+ep+"|"+id("1")+"|data: one"; got != want {
			t.Errorf("Last-Event-ID %s: %q, want %q", old, got, want)
		}
	}
}

// TestGap: a client that missed more than the log holds is told how many
// entries are gone, with an id that skips them next time.
func TestGap(t *testing.T) {
	ctx := context.Background()
	topic := hub.NewTopic(&hub.TopicOptions{MaxEntries: 3})
	for i := range 10 {
		topic.Publish(ctx, "", []byte{'a' + byte(i)})
	}
	srv := httptest.NewServer(events(topic, time.Minute))
	t.Cleanup(srv.Close)
	ep := string(topic.Epoch())
	next := stream(t, srv.URL, ep+":2")
	want := "event: gap|id: EP:7|data: 5|id: EP:8|data: h|id: EP:9|data: i|id: EP:10|data: j"
	want = strings.ReplaceAll(want, "EP", ep)
	if got := strings.Join(next(9), "|"); got != want {
		t.Errorf("stream = %q, want %q", got, want)
	}
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Last-Event-ID", "not a number")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed Last-Event-ID: %v %v, want 400", resp.Status, err)
	}
	resp.Body.Close()
}
