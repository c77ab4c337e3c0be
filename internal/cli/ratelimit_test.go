package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/wsproto"
)

func requestFrom(addr string) *http.Request {
	r, _ := http.NewRequest("POST", "/chat", nil)
	r.RemoteAddr = addr
	return r
}

// TestPublishLimiter: a bucket of 3 refilled at 2 per second, per IPv4
// address or IPv6 /64; the wait until the next token; full buckets are
// swept away.
func TestPublishLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newPublishLimiter(2, 3)
	l.now = func() time.Time { return now }
	a := requestFrom("192.0.2.1:1234")
	for i := range 3 {
		if ok, _ := l.allow(a); !ok {
			t.Fatalf("message %d of a burst of 3 refused", i+1)
		}
	}
	if ok, wait := l.allow(a); ok || wait != 500*time.Millisecond {
		t.Fatalf("4th message = %v, wait %v; want refused, wait 500ms", ok, wait)
	}
	if ok, _ := l.allow(requestFrom("192.0.2.2:1234")); !ok {
		t.Fatal("another address is limited with the first")
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := l.allow(a); !ok {
		t.Fatal("a message 0.5 s later, with one token refilled, refused")
	}
	if ok, _ := l.allow(a); ok {
		t.Fatal("a second message without a token allowed")
	}
	// IPv6: one /64 is one client, whatever the interface identifier;
	// an IPv4-mapped address is the IPv4 address.
	v6 := requestFrom("[2001:db8:1:2::1]:443")
	for range 3 {
		l.allow(v6)
	}
	if ok, _ := l.allow(requestFrom("[2001:db8:1:2:ffff::9]:80")); ok {
		t.Error("another address of the same /64 has its own bucket")
	}
	if ok, _ := l.allow(requestFrom("[2001:db8:1:3::1]:443")); !ok {
		t.Error("another /64 is limited with the first")
	}
	if ok, _ := l.allow(requestFrom("[::ffff:192.0.2.1]:1")); ok {
		t.Error("the IPv4-mapped form of a limited address has its own bucket")
	}
	// After the refill period every bucket is full again: the next call
	// sweeps them all and keeps only its own.
	now = now.Add(2 * time.Second)
	l.allow(requestFrom("198.51.100.7:1"))
	if n := len(l.buckets); n != 1 {
		t.Errorf("%d buckets after every client was idle for the refill period, want 1", n)
	}
	if newPublishLimiter(0, 10) != nil {
		t.Error("rate 0 made a limiter, want none (no limit)")
	}
	var none *publishLimiter
	if err := none.check(a); err != nil {
		t.Errorf("no limiter refused a message: %v", err)
	}
}

// dialerFrom returns a WebSocket dialer whose connections come from the
// loopback address ip (Linux routes all of 127.0.0.0/8 to loopback).
func dialerFrom(ip string) *wsproto.DialOptions {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &wsproto.DialOptions{NetDialContext: d.DialContext}
}

func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// TestDemoPublishRateLimit: over its limit, a client's POST is answered
// 429 with Retry-After and its WebSocket message with an error record; its
// WebSocket stays open and delivers, its stream goes on, and other clients
// publish as before.
func TestDemoPublishRateLimit(t *testing.T) {
	// One token per 20 s: none comes back while the test runs, however
	// loaded the machine.
	addr := startTimedDemo(t, defaultTimeouts, newPublishLimiter(0.05, 3), false)
	base := "http://" + addr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Client A (127.0.0.1) watches the chat over SSE and posts.
	a := clientFrom("127.0.0.1")
	defer a.Transport.(*http.Transport).CloseIdleConnections()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/chat?transport=sse", nil)
	stream, err := a.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	post := func(c *http.Client, text string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/chat", strings.NewReader(chatJSON("a", text)))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for i := range 3 {
		if resp := post(a, fmt.Sprintf("a%d", i)); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("POST %d of a burst of 3 = %s, want 204", i+1, resp.Status)
		}
	}
	resp := post(a, "a3")
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != http.StatusTooManyRequests || err != nil || ra < 1 || ra > 20 {
		t.Fatalf("4th POST = %s, Retry-After %q; want 429, Retry-After 1 to 20 (seconds)", resp.Status, resp.Header.Get("Retry-After"))
	}

	// Client B (127.0.0.2) publishes over a WebSocket.
	b, _, err := wsproto.Dial(ctx, "ws://"+addr+"/chat?transport=websocket", dialerFrom("127.0.0.2"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.CloseNow()
	for i := range 4 {
		if err := b.Write(ctx, wsproto.MessageText, []byte(chatJSON("b", fmt.Sprintf("b%d", i)))); err != nil {
			t.Fatal(err)
		}
	}
	var records []string
	for !strings.Contains(strings.Join(records, "\n"), "error") {
		_, msg, err := b.Read(ctx, nil)
		if err != nil {
			t.Fatalf("B's WebSocket after %q: %v", records, err)
		}
		records = append(records, string(msg))
	}
	last := records[len(records)-1]
	if !strings.Contains(last, "publish rate limit") || !strings.Contains(last, "retry in") {
		t.Errorf("error record = %s, want the rate limit and when to retry", last)
	}

	// Client C (127.0.0.3) is not limited by A and B; B's WebSocket and
	// A's stream still deliver.
	c := clientFrom("127.0.0.3")
	defer c.Transport.(*http.Transport).CloseIdleConnections()
	if resp := post(c, "from c"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST from another client = %s, want 204", resp.Status)
	}
	for {
		_, msg, err := b.Read(ctx, nil)
		if err != nil {
			t.Fatalf("B's WebSocket after the limit: %v", err)
		}
		if strings.Contains(string(msg), "from c") {
			break
		}
	}
	if err := readUntil(stream.Body, `"text":"from c"`, 10*time.Second); err != nil {
		t.Errorf("A's SSE stream after A was limited: %v", err)
	}
}

// TestChatTopicHoldsHistory: the chat log holds chatHistory messages of
// the largest size the demo publishes, and drops the oldest after that.
func TestChatTopicHoldsHistory(t *testing.T) {
	topic := newChatTopic()
	defer topic.Close()
	// Every byte of this nickname and text is one JSON writes as six.
	var largest []byte
	d := newDemo(topic, nil, 0)
	defer d.close()
	srv := httptest.NewServer(d.mux)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/chat", "application/json", strings.NewReader(chatJSON(strings.Repeat("<", maxNick), strings.Repeat("\x00", maxChatMessage))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST of the largest message = %s, want 204", resp.Status)
	}
	one := make([]hub.Entry, 1)
	if n, _, err := topic.ReadAfter(context.Background(), hub.FromOldest(), one); n != 1 || err != nil {
		t.Fatalf("the log after one message: %d entries, %v", n, err)
	}
	largest = one[0].Data
	if len(largest) > maxChatEntry {
		t.Fatalf("the largest message is an entry of %d bytes, over maxChatEntry %d", len(largest), maxChatEntry)
	}
	msg := append([]byte(nil), largest...)
	ctx := context.Background()
	for range chatHistory + 1 {
		if _, err := topic.Publish(ctx, chatType, msg); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]hub.Entry, chatHistory+1)
	n, _, err := topic.ReadAfter(ctx, hub.FromOldest(), buf)
	if err != nil || n != chatHistory || buf[0].Seq != 3 {
		t.Fatalf("after %d more entries of %d bytes the log holds %d from seq %d (err %v), want %d from seq 3",
			chatHistory+1, len(msg), n, buf[0].Seq, err, chatHistory)
	}
}
