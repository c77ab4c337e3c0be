package httpstream

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/wsproto"
)

// firstMessageRounds is how many times TestNoMissedFirstMessage races a
// publish against the open, per transport.
const firstMessageRounds = 150

// TestNoMissedFirstMessage: a client that connects "from now" receives a
// message published as soon as it sees the connection open, on every
// transport: the cursor is resolved before the 101 of a WebSocket and
// before the headers of a stream, and a poll's answer carries the cursor
// that the next poll continues from. Each round publishes at the earliest
// moment the client can tell that it is connected, from another goroutine
// too, so that the publish races the server's work after the open.
func TestNoMissedFirstMessage(t *testing.T) {
	for _, transport := range []string{"websocket", "sse", "stream", "iframe", "poll"} {
		t.Run(transport, func(t *testing.T) {
			tp := hub.NewTopic(&hub.TopicOptions{MaxEntries: 4 * firstMessageRounds})
			srv, _ := serve(t, tp, &Options{KeepAlive: -1})
			for i := range firstMessageRounds {
				want := fmt.Sprintf("first-%d", i)
				switch transport {
				case "websocket":
					firstOverWebSocket(t, srv.URL, tp, want)
				case "poll":
					firstOverPoll(t, srv.URL, tp, want)
				default:
					firstOverStream(t, srv.URL+"?transport="+transport, tp, want)
				}
				if t.Failed() {
					t.Fatalf("round %d of %d missed the first message", i+1, firstMessageRounds)
				}
			}
		})
	}
}

// publishNow publishes data from another goroutine and returns a channel
// closed once it is published.
func publishNow(t *testing.T, tp hub.Log, data string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := tp.Publish(context.Background(), "", []byte(data)); err != nil {
			t.Errorf("Publish(%q) = %v", data, err)
		}
	}()
	return done
}

func firstOverWebSocket(t *testing.T, url string, tp hub.Log, want string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := wsproto.Dial(ctx, wsURL(url)+"?transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	// Dial returned: the 101 arrived, the connection is open.
	published := publishNow(t, tp, want)
	defer func() { <-published }()
	for {
		_, msg, err := c.Read(ctx, nil)
		if err != nil {
			t.Errorf("WebSocket: waiting for %q published after the open: %v", want, err)
			return
		}
		if strings.Contains(string(msg), `"data":"`+want+`"`) {
			return
		}
	}
}

func firstOverStream(t *testing.T, url string, tp hub.Log, want string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// The response headers arrived: an EventSource fires open now.
	published := publishNow(t, tp, want)
	defer func() { <-published }()
	var got []byte
	p := make([]byte, 4096)
	for !strings.Contains(string(got), want) {
		n, err := resp.Body.Read(p)
		got = append(got, p[:n]...)
		if err != nil {
			t.Errorf("%s: waiting for %q published after the open: %v; got %q", url, want, err, tail(got))
			return
		}
	}
}

func firstOverPoll(t *testing.T, url string, tp hub.Log, want string) {
	poll := func(cursor string, timeout int) (string, []string) {
		t.Helper()
		code, body := get(t, fmt.Sprintf("%s?transport=poll&cursor=%s&timeout=%d", url, cursor, timeout))
		if code != http.StatusOK {
			t.Fatalf("poll: status %d: %s", code, body)
		}
		var r struct {
			Cursor  string `json:"cursor"`
			Entries []struct {
				Data string `json:"data"`
			} `json:"entries"`
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("poll: %v in %q", err, body)
		}
		var data []string
		for _, e := range r.Entries {
			data = append(data, e.Data)
		}
		return r.Cursor, data
	}
	// The answer to the first poll is the open: it carries the cursor.
	cursor, _ := poll("", 0)
	published := publishNow(t, tp, want)
	defer func() { <-published }()
	for range 10 {
		var data []string
		cursor, data = poll(cursor, 5)
		for _, d := range data {
			if d == want {
				return
			}
		}
	}
	t.Errorf("poll: %q published after the open never came", want)
}
