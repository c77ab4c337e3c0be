package httpstream

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
)

// TestHeldPollHeader: a held poll's answer, written on the connection
// taken from net/http, carries the header fields set before the poll was
// held (here by a CORS wrapper), its own Content-Type and Cache-Control,
// its framing, and none of the fields the head sets itself twice; two
// polls with the same header share its rendering instead of keeping a copy
// each.
func TestHeldPollHeader(t *testing.T) {
	tests := []struct {
		name string
		set  http.Header // before the handler runs
		want http.Header // in the answer, besides Date and the framing
	}{
		{"usual", nil, http.Header{}},
		{"cors", http.Header{"Access-Control-Allow-Origin": {"*"}, "Vary": {"Origin"}},
			http.Header{"Access-Control-Allow-Origin": {"*"}, "Vary": {"Origin"}}},
		{"managed fields dropped", http.Header{"Connection": {"keep-alive"}, "Content-Length": {"99"}, "X-Line": {"a\r\nb"}},
			http.Header{"X-Line": {"a  b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1"})
			h := NewHandler(tp, &Options{PollTimeout: time.Hour})
			defer h.Close()
			srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.set {
					w.Header()[k] = v
				}
				h.ServeHTTP(w, r)
			}))
			var conns [2]net.Conn
			for i := range conns {
				c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				io.WriteString(c, "GET /?transport=poll&cursor=0 HTTP/1.1\r\nHost: x\r\n\r\n")
				conns[i] = c
			}
			for h.memberCount() < 2 {
				time.Sleep(time.Millisecond)
			}
			var fields [][]byte
			h.mu.Lock()
			for m := h.members.next; m != nil; m = m.next {
				fields = append(fields, m.ender.(*heldPoll).fields)
			}
			h.mu.Unlock()
			if len(fields) != 2 || &fields[0][0] != &fields[1][0] {
				t.Errorf("two polls with the same header do not share its rendering")
			}
			publish(t, tp, "", "hello")
			c := conns[0]
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || !strings.Contains(string(body), `"data":"hello"`) {
				t.Errorf("answer = %s %q, want 200 with the entry", resp.Status, body)
			}
			if !resp.Close || resp.ContentLength != int64(len(body)) {
				t.Errorf("answer framing: close %v, Content-Length %d for %d bytes; want Connection: close and the length", resp.Close, resp.ContentLength, len(body))
			}
			// Connection: close is resp.Close.
			got := resp.Header.Clone()
			for _, k := range []string{"Date", "Content-Length"} {
				if len(got[k]) != 1 {
					t.Errorf("answer has %s %q, want one", k, got[k])
				}
				delete(got, k)
			}
			want := tt.want.Clone()
			want.Set("Content-Type", "application/json")
			want.Set("Cache-Control", "no-store")
			want.Set("X-Content-Type-Options", "nosniff")
			if len(got) != len(want) {
				t.Errorf("answer header = %v, want %v", got, want)
			}
			for k, v := range want {
				if strings.Join(got[k], ",") != strings.Join(v, ",") {
					t.Errorf("answer %s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// expiryCount returns how many timeout FIFOs h has.
func (h *Handler) expiryCount() int {
	h.expMu.Lock()
	defer h.expMu.Unlock()
	return len(h.expiries)
}

// TestHeldPollExpiry: held polls that share a timeout share its timer
// (expiry.go), yet each is answered no earlier than its own timeout after
// it started; a poll whose client goes away
// leaves its FIFO; once every poll is answered no FIFO (and no timer) is
// left.
//
// The timeouts (8 s, 9 s and 10 s) are long against setting up the five
// polls, which must all be held at once to count the FIFOs: with 1 s a
// stress run on starved cores answered the first poll before the fifth
// was held, and the test waited for five held polls forever.
func TestHeldPollExpiry(t *testing.T) {
	tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1"})
	srv, h := serve(t, tp, &Options{PollTimeout: 10 * time.Second})
	// waitMembers waits until cond holds of the number of held polls.
	waitMembers := func(cond func(n int) bool, want string) {
		t.Helper()
		deadline := time.Now().Add(6 * time.Second)
		for n := h.memberCount(); !cond(n); n = h.memberCount() {
			if time.Now().After(deadline) {
				t.Fatalf("%d polls held after 6 s, want %s", n, want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	addr := strings.TrimPrefix(srv.URL, "http://")
	type poll struct {
		query   string
		start   time.Time
		timeout time.Duration
		done    chan time.Time
	}
	open := func(query string, timeout time.Duration) (*poll, net.Conn) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		p := &poll{query: query, start: time.Now(), timeout: timeout, done: make(chan time.Time, 1)}
		io.WriteString(c, "GET /?transport=poll&cursor=0"+query+" HTTP/1.1\r\nHost: x\r\n\r\n")
		go func() {
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				if string(b) != `{"cursor":"e1:0","entries":[]}`+"\n" {
					t.Errorf("poll%s answered %q, want no entries", query, b)
				}
			}
			p.done <- time.Now()
		}()
		return p, c
	}
	var polls []*poll
	for i, q := range []struct {
		query   string
		timeout time.Duration
	}{{"&timeout=8", 8 * time.Second}, {"&timeout=9", 9 * time.Second}, {"&timeout=8", 8 * time.Second}, {"&timeout=9", 9 * time.Second}} {
		p, _ := open(q.query, q.timeout)
		polls = append(polls, p)
		waitMembers(func(n int) bool { return n >= i+1 }, fmt.Sprint(i+1))
		time.Sleep(200 * time.Millisecond) // different deadlines within a FIFO
	}
	// One more, alone with its timeout (PollTimeout), that goes away
	// before it: it leaves its FIFO, which goes with its timer.
	_, gone := open("", 10*time.Second)
	waitMembers(func(n int) bool { return n >= len(polls)+1 }, fmt.Sprint(len(polls)+1))
	if n := h.expiryCount(); n != 3 {
		t.Errorf("%d timeout FIFOs for polls of three timeouts, want 3", n)
	}
	gone.Close()
	waitMembers(func(n int) bool { return n <= len(polls) }, fmt.Sprint(len(polls)))
	if n := h.expiryCount(); n != 2 {
		t.Errorf("%d timeout FIFOs once the only poll of one went away, want 2", n)
	}
	// Polls 0 and 2, and 1 and 3, share a FIFO and start 400 ms apart: a
	// FIFO that fired its later polls with its first would answer 2 and 3
	// before their timeouts.
	for i, p := range polls {
		select {
		case at := <-p.done:
			if took := at.Sub(p.start); took < p.timeout {
				t.Errorf("poll %d%s answered after %v, before its timeout %v", i, p.query, took, p.timeout)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("poll %d%s not answered", i, p.query)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.memberCount() > 0 || h.expiryCount() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after every poll: %d polls held, %d timeout FIFOs left, want none", h.memberCount(), h.expiryCount())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
