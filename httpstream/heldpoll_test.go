package httpstream

import (
	"bufio"
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
