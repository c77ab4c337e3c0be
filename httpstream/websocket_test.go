package httpstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

func wsURL(srv string) string { return "ws" + strings.TrimPrefix(srv, "http") }

// readMessages reads n text messages, with a safety timeout.
func readMessages(t *testing.T, c *wsproto.Conn, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []string
	for range n {
		_, msg, err := c.Read(ctx, nil)
		if err != nil {
			t.Fatalf("Read after %q = %v", out, err)
		}
		out = append(out, string(msg))
	}
	return out
}

// TestWebSocketResume: a WebSocket client resumes from its cursor, and a
// reconnection with the last seq it saw gets exactly what it missed.
func TestWebSocketResume(t *testing.T) {
	tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1"})
	publish(t, tp, "", "a", "b", "c")
	srv, _ := serve(t, tp, nil)
	ctx := context.Background()
	c, _, err := wsproto.Dial(ctx, wsURL(srv.URL)+"?cursor=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := readMessages(t, c, 3)
	want := []string{`{"cursor":"e1:1"}`, `{"seq":2,"data":"b"}`, `{"seq":3,"data":"c"}`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("messages = %q, want %q", got, want)
	}
	c.CloseNow()
	publish(t, tp, "", "d", "e")
	c, _, err = wsproto.Dial(ctx, wsURL(srv.URL)+"?transport=websocket&cursor=3", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	got = readMessages(t, c, 3)
	want = []string{`{"cursor":"e1:3"}`, `{"seq":4,"data":"d"}`, `{"seq":5,"data":"e"}`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("messages after reconnecting = %q, want %q", got, want)
	}
	publish(t, tp, "chat", "live")
	if got := readMessages(t, c, 1); got[0] != `{"seq":6,"type":"chat","data":"live"}` {
		t.Errorf("live message = %q, want %q", got[0], `{"seq":6,"type":"chat","data":"live"}`)
	}
}

// TestWebSocketPublish: client messages go through OnPublish; a refusal
// comes back as an error record; a read-only topic closes with 1003.
func TestWebSocketPublish(t *testing.T) {
	tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1"})
	srv, _ := serve(t, tp, &Options{OnPublish: func(r *http.Request, data []byte) error {
		if string(data) == "bad" {
			return errors.New("no bad words")
		}
		_, err := tp.Publish(r.Context(), "chat", data)
		return err
	}})
	ctx := context.Background()
	c, _, err := wsproto.Dial(ctx, wsURL(srv.URL)+"?cursor=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	readMessages(t, c, 1) // cursor
	c.Write(ctx, wsproto.MessageText, []byte("bad"))
	c.Write(ctx, wsproto.MessageText, []byte("good"))
	got := readMessages(t, c, 2)
	want := []string{`{"error":"no bad words"}`, `{"seq":1,"type":"chat","data":"good"}`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("messages = %q, want %q", got, want)
	}

	ro, _ := serve(t, tp, nil)
	c2, _, err := wsproto.Dial(ctx, wsURL(ro.URL), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	readMessages(t, c2, 1)
	c2.Write(ctx, wsproto.MessageText, []byte("hello"))
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, _, err = c2.Read(rctx, nil)
	if code := frame.CloseStatus(err); code != frame.CloseUnsupportedData {
		t.Errorf("read-only topic: Read = %v, want close code %v", err, frame.CloseUnsupportedData)
	}
}

func TestPublishPOST(t *testing.T) {
	tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1"})
	srv, _ := serve(t, tp, &Options{MaxMessageSize: 8, OnPublish: func(r *http.Request, data []byte) error {
		_, err := tp.Publish(r.Context(), "", data)
		return err
	}})
	ro, _ := serve(t, tp, nil)
	tests := []struct {
		name, url, body string
		header          []string
		code            int
	}{
		{"published", srv.URL, "hi", nil, 204},
		{"too large", srv.URL, "123456789", nil, 413},
		{"cross-site", srv.URL, "hi", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"read-only", ro.URL, "hi", nil, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", tt.url, strings.NewReader(tt.body))
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Errorf("POST %q = %d, want %d", tt.body, resp.StatusCode, tt.code)
			}
		})
	}
	n, _, _ := tp.ReadAfter(context.Background(), hub.After(0), make([]hub.Entry, 10))
	if n != 1 {
		t.Errorf("topic holds %d entries, want 1", n)
	}
}

// TestShutdown: Close ends every transport cleanly (WebSocket with 1001,
// streams end, a held poll answers), and clients that reconnect to a new
// handler on the same log with their cursors get every entry exactly once.
func TestShutdown(t *testing.T) {
	tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1"})
	publish(t, tp, "", "1", "2")
	h1 := NewHandler(tp, nil)
	srv1 := newServer(t, h1)
	ctx := context.Background()

	ws, _, err := wsproto.Dial(ctx, wsURL(srv1.URL)+"?cursor=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	readMessages(t, ws, 3)
	sse := openStream(t, srv1.URL+"?transport=sse&cursor=0")
	sse.readUntil("id: e1:2\n")
	stream := openStream(t, srv1.URL+"?transport=stream&cursor=0")
	stream.readUntil(`"seq":2`)
	poll := make(chan string, 1)
	go func() {
		resp, err := http.Get(srv1.URL + "?transport=poll&cursor=2")
		if err != nil {
			poll <- err.Error()
			return
		}
		b := make([]byte, 100)
		n, _ := resp.Body.Read(b)
		resp.Body.Close()
		poll <- string(b[:n])
	}()
	publish(t, tp, "", "3") // before the close: must reach everyone
	readMessages(t, ws, 1)

	// The client reads while the handler closes, as a browser does, so
	// that it answers the close frame.
	wsErr := make(chan error, 1)
	go func() {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, _, err := ws.Read(rctx, nil)
		wsErr <- err
	}()
	if err := h1.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := <-wsErr; frame.CloseStatus(err) != frame.CloseGoingAway {
		t.Errorf("WebSocket after Close: Read = %v, want close code 1001", err)
	}
	sseBody := sse.readAll() // ends
	streamBody := stream.readAll()
	if got := <-poll; !strings.HasPrefix(got, `{"cursor":"e1:3","entries":[{"seq":3,`) && got != `{"cursor":"e1:2","entries":[]}`+"\n" {
		t.Errorf("held poll after Close = %q, want entry 3 or no entries", got)
	}
	publish(t, tp, "", "4") // after the close: for the next handler
	srv1.Close()

	// Reconnect to a new handler on the same log, from the last seq each
	// client saw.
	h2 := NewHandler(tp, nil)
	srv2 := newServer(t, h2)
	defer h2.Close()
	last := func(body, prefix string) string {
		i := strings.LastIndex(body, prefix)
		if i < 0 {
			return "0"
		}
		rest := body[i+len(prefix):]
		return rest[:strings.IndexAny(rest, "\n,")]
	}
	sseCursor, streamCursor := last(sseBody, "id: "), last(streamBody, `{"seq":`)
	sse2 := openStream(t, srv2.URL+"?transport=sse&cursor=0", "Last-Event-ID", sseCursor)
	stream2 := openStream(t, srv2.URL+"?transport=stream&cursor="+streamCursor)
	ws2, _, err := wsproto.Dial(ctx, wsURL(srv2.URL)+"?cursor=3", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws2.CloseNow()
	if got := readMessages(t, ws2, 2)[1]; got != `{"seq":4,"data":"4"}` {
		t.Errorf("WebSocket after reconnecting got %q, want entry 4", got)
	}
	sse2.readUntil("id: e1:4\n")
	stream2.readUntil(`"seq":4`)
	h2.Close()
	all := sseBody + sse2.readAll()
	for i := 1; i <= 4; i++ {
		if n := strings.Count(all, fmt.Sprintf("\n\nid: e1:%d\ndata", i)); n != 1 {
			t.Errorf("SSE client got entry %d %d times, want once:\n%s", i, n, all)
		}
	}
	all = streamBody + stream2.readAll()
	for i := 1; i <= 4; i++ {
		if n := strings.Count(all, fmt.Sprintf(`{"seq":%d,`, i)); n != 1 {
			t.Errorf("stream client got entry %d %d times, want once:\n%s", i, n, all)
		}
	}
}

// TestClosedHandler: requests after Close end at once.
func TestClosedHandler(t *testing.T) {
	tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1"})
	publish(t, tp, "", "a")
	srv, h := serve(t, tp, nil)
	h.Close()
	tests := []struct {
		query string
		code  int
		want  string
	}{
		{"?transport=poll&cursor=1", 200, `{"cursor":"e1:1","entries":[]}` + "\n"},
		// A stream after Close echoes the client's cursor and ends.
		{"?transport=stream&cursor=1", 200, strings.Repeat(" ", DefaultPadding-1) + "\n" + `{"cursor":"1"}` + "\n"},
		{"?transport=sse&cursor=e1:1", 200, "event: pushwire.cursor\nid: e1:1\ndata: e1:1\n\n"},
	}
	for _, tt := range tests {
		code, body := get(t, srv.URL+tt.query)
		if code != tt.code || body != tt.want {
			t.Errorf("GET(%q) after Close = %d %q, want %d %q", tt.query, code, body, tt.code, tt.want)
		}
	}
	_, _, err := wsproto.Dial(context.Background(), wsURL(srv.URL), nil)
	if re := (*handshake.ResponseError)(nil); !errors.As(err, &re) || re.StatusCode != 503 {
		t.Errorf("WebSocket Dial after Close = %v, want status 503", err)
	}
}
