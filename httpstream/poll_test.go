package httpstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
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
)

func TestPoll(t *testing.T) {
	tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1", MaxEntries: 4})
	publish(t, tp, "", "a", "b")
	publish(t, tp, "chat", "<c>")
	srv, _ := serve(t, tp, &Options{MaxBatch: 2})
	tests := []struct {
		name   string
		query  string
		header []string
		code   int
		want   string
	}{
		{"from zero", "?cursor=0&timeout=0", nil, 200, `{"cursor":"e1:2","entries":[{"seq":1,"data":"a"},{"seq":2,"data":"b"}]}` + "\n"},
		{"batch boundary", "?cursor=2&timeout=0", nil, 200, `{"cursor":"e1:3","entries":[{"seq":3,"type":"chat","data":"\u003cc\u003e"}]}` + "\n"},
		{"up to date", "?transport=poll&cursor=3&timeout=0", nil, 200, `{"cursor":"e1:3","entries":[]}` + "\n"},
		{"from now", "?timeout=0", nil, 200, `{"cursor":"e1:3","entries":[]}` + "\n"},
		{"oldest", "?cursor=oldest&timeout=0", nil, 200, `{"cursor":"e1:2","entries":[{"seq":1,"data":"a"},{"seq":2,"data":"b"}]}` + "\n"},
		{"last-event-id wins", "?cursor=0&timeout=0", []string{"Last-Event-ID", "2"}, 200, `{"cursor":"e1:3","entries":[{"seq":3,"type":"chat","data":"\u003cc\u003e"}]}` + "\n"},
		{"malformed cursor", "?cursor=01", nil, 409, "malformed cursor\n"},
		{"negative cursor", "?cursor=-1", nil, 409, "malformed cursor\n"},
		{"cursor ahead: reset", "?cursor=4", nil, 200, `{"cursor":"e1:0","entries":[],"reset":{"epoch":"e1","after":0}}` + "\n"},
		{"other epoch: reset", "?cursor=e0:2", nil, 200, `{"cursor":"e1:0","entries":[],"reset":{"epoch":"e1","after":0}}` + "\n"},
		{"bare cursor adopted", "?cursor=2&timeout=0", nil, 200, `{"cursor":"e1:3","entries":[{"seq":3,"type":"chat","data":"\u003cc\u003e"}]}` + "\n"},
		{"malformed epoch", "?cursor=e.1:2", nil, 409, "malformed cursor\n"},
		{"malformed timeout", "?cursor=0&timeout=x", nil, 400, "malformed timeout\n"},
		{"unknown transport", "?transport=carrier-pigeon", nil, 400, "unknown transport carrier-pigeon\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, srv.URL+tt.query, tt.header...)
			if code != tt.code || body != tt.want {
				t.Errorf("GET(%q) = %d %q, want %d %q", tt.query, code, body, tt.code, tt.want)
			}
		})
	}
}

// TestPollGap: a cursor older than the log gets the gap and the cursor that
// skips it, then the entries after it.
func TestPollGap(t *testing.T) {
	tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1", MaxEntries: 4})
	publish(t, tp, "", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10")
	srv, _ := serve(t, tp, nil)
	_, body := get(t, srv.URL+"?cursor=2&timeout=0")
	if want := `{"cursor":"e1:6","entries":[],"gap":{"after":2,"oldest":7,"lost":4}}` + "\n"; body != want {
		t.Errorf("GET(cursor=2) = %q, want %q", body, want)
	}
	_, body = get(t, srv.URL+"?cursor=6&timeout=0")
	if want := `{"cursor":"e1:10","entries":[{"seq":7,"data":"7"},{"seq":8,"data":"8"},{"seq":9,"data":"9"},{"seq":10,"data":"10"}]}` + "\n"; body != want {
		t.Errorf("GET(cursor=6) = %q, want %q", body, want)
	}
}

// TestPollHeld: a long poll with nothing to read is answered by the next
// publish, and a poll "from now" gets that entry.
func TestPollHeld(t *testing.T) {
	tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1"})
	publish(t, tp, "", "old")
	srv, _ := serve(t, tp, nil)
	for _, query := range []string{"?cursor=1", "?cursor="} {
		t.Run(query, func(t *testing.T) {
			done := make(chan string, 1)
			go func() {
				resp, err := http.Get(srv.URL + query)
				if err != nil {
					done <- err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				done <- string(b)
			}()
			// Publish until the poll answers: the poll may not have
			// started waiting when the first entry is published.
			var body string
			for body == "" {
				n, _ := tp.Publish(context.Background(), "", []byte("new"))
				select {
				case body = <-done:
					if !strings.Contains(body, `"entries":[{"seq":`) || strings.Contains(body, `"data":"old"`) {
						t.Errorf("GET(%q) = %q, want new entries up to %d", query, body, n)
					}
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
	}
}

// TestPollExpiry: with nothing published, a long poll is answered after
// PollTimeout, or the client's shorter timeout, with no entries and the
// same cursor.
func TestPollExpiry(t *testing.T) {
	tests := []struct {
		name  string
		query string
		wait  time.Duration
	}{
		{"server timeout", "?cursor=0", 30 * time.Second},
		{"client timeout", "?cursor=0&timeout=5", 5 * time.Second},
		{"client timeout above server's", "?cursor=0&timeout=100", 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := NewHandler(hub.NewTopic(&hub.TopicOptions{Epoch: "e1"}), &Options{PollTimeout: 30 * time.Second})
				defer h.Close()
				rec := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/"+tt.query, nil))
				if got := time.Since(start); got != tt.wait {
					t.Errorf("GET(%q) answered after %v, want %v", tt.query, got, tt.wait)
				}
				if want := `{"cursor":"e1:0","entries":[]}` + "\n"; rec.Body.String() != want {
					t.Errorf("GET(%q) = %q, want %q", tt.query, rec.Body.String(), want)
				}
			})
		})
	}
}

// The reconnect tests publish reconnectEntries entries from
// reconnectPublishers goroutines while one client reads them, its
// connection cut reconnectCuts times at random points.
const (
	reconnectEntries    = 10000
	reconnectPublishers = 4
	reconnectCuts       = 100
)

// reconnectTest runs the publishers and a client against a server whose
// first reconnectCuts connections are cut after a random number of bytes.
// The client calls got for each entry it receives and returns when it has
// them all. got checks that they come exactly once and in order.
func reconnectTest(t *testing.T, opts *Options, client func(ctx context.Context, url string, got func(seq uint64, data string) error) error) {
	tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1", MaxEntries: 2 * reconnectEntries, MaxBytes: 16 << 20})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var cuts atomic.Int32
	rnd := rand.New(rand.NewPCG(1, 2))
	cl := &cuttingListener{Listener: ln, budget: func() int {
		if cuts.Add(1) > reconnectCuts {
			return -1
		}
		return 1 + rnd.IntN(4000)
	}}
	h := NewHandler(tp, opts)
	srv := &http.Server{Handler: h}
	go srv.Serve(cl)
	defer func() {
		h.Close()
		srv.Close()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // safety net
	defer cancel()
	var wg sync.WaitGroup
	for p := range reconnectPublishers {
		wg.Go(func() {
			for i := range reconnectEntries / reconnectPublishers {
				data := fmt.Sprintf("publisher %d entry %d %s", p, i, strings.Repeat("x", i%50))
				if _, err := tp.Publish(ctx, "", []byte(data)); err != nil {
					t.Errorf("Publish = %v", err)
					return
				}
				if i%64 == 0 {
					time.Sleep(time.Millisecond) // let the client catch up now and then
				}
			}
		})
	}
	var received uint64
	next := make([]int, reconnectPublishers)
	err = client(ctx, "http://"+ln.Addr().String()+"/", func(seq uint64, data string) error {
		if seq != received+1 {
			return fmt.Errorf("received entry %d after %d, want %d", seq, received, received+1)
		}
		received = seq
		var p, i int
		if _, err := fmt.Sscanf(data, "publisher %d entry %d", &p, &i); err != nil || p < 0 || p >= reconnectPublishers {
			return fmt.Errorf("entry %d = %q, not a published one", seq, data)
		}
		if i != next[p] {
			return fmt.Errorf("entry %d = %q, want publisher %d's entry %d", seq, data, p, next[p])
		}
		next[p]++
		if received == reconnectEntries {
			return errDone
		}
		return nil
	})
	wg.Wait()
	if err != nil && !errors.Is(err, errDone) {
		t.Fatalf("client: %v after %d entries", err, received)
	}
	if received != reconnectEntries {
		t.Errorf("received %d entries, want %d", received, reconnectEntries)
	}
	if n := cuts.Load(); n <= reconnectCuts {
		t.Errorf("%d connections, want more than the %d cut ones", n, reconnectCuts)
	}
}

var errDone = errors.New("all entries received")

// TestPollReconnects: a long-poll client loop receives 10,000 entries
// published concurrently exactly once and in order, while its connection is
// cut 100 times at random points.
func TestPollReconnects(t *testing.T) {
	var failed int
	reconnectTest(t, &Options{MaxBatch: 64}, func(ctx context.Context, url string, got func(uint64, string) error) error {
		cursor := "0"
		client := &http.Client{Transport: &http.Transport{}}
		defer client.CloseIdleConnections()
		for ctx.Err() == nil {
			body, err := pollOnce(ctx, client, url+"?transport=poll&timeout=5&cursor="+cursor)
			if err != nil {
				failed++ // poll again with the same cursor
				continue
			}
			var resp struct {
				Cursor  string
				Entries []struct {
					Seq  uint64
					Data string
				}
			}
			if err := json.Unmarshal(body, &resp); err != nil {
				return fmt.Errorf("poll answer %q: %v", body, err)
			}
			for _, e := range resp.Entries {
				if err := got(e.Seq, e.Data); err != nil {
					return err
				}
			}
			if len(resp.Entries) > 0 && resp.Cursor != "e1:"+strconv.FormatUint(resp.Entries[len(resp.Entries)-1].Seq, 10) {
				return fmt.Errorf("poll answer cursor %s, want the last entry's seq", resp.Cursor)
			}
			cursor = resp.Cursor
		}
		return ctx.Err()
	})
	if failed == 0 {
		t.Errorf("no poll failed; the test cut no connection during a poll")
	}
	t.Logf("%d polls failed and were repeated", failed)
}

func pollOnce(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("status %s", resp.Status)
	}
	return body, err
}
