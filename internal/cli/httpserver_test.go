package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushwire/pushwire/wsproto"
)

// testTimeouts are short, so that the test can outlast them.
var testTimeouts = serverTimeouts{header: 300 * time.Millisecond, read: 300 * time.Millisecond, idle: 300 * time.Millisecond}

// startTimedDemo serves the demo with newHTTPServer and timeouts t0, over
// TLS (HTTP/2 and HTTP/1.1) when tlsOn. It returns the server's address.
func startTimedDemo(t *testing.T, t0 serverTimeouts, lim *publishLimiter, tlsOn bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	topic := newChatTopic()
	d := newDemo(topic, lim, 0)
	base, cancel := context.WithCancel(context.Background())
	srv := newHTTPServer(d.mux, t0, base)
	if tlsOn {
		if srv.TLSConfig, err = tlsConfig("", "", io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		if tlsOn {
			srv.ServeTLS(ln, "", "")
		} else {
			srv.Serve(ln)
		}
		close(done)
	}()
	t.Cleanup(func() {
		ctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		d.chat.Shutdown(ctx)
		cancel()
		srv.Close()
		<-done
		d.close()
		topic.Close()
	})
	return ln.Addr().String()
}

// closedWithin reports whether the server closes nc within d, reading and
// discarding what it sends.
func closedWithin(nc net.Conn, d time.Duration) bool {
	nc.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, nc)
	return err == nil // EOF: closed by the server; a timeout is an error
}

// TestServerTimeoutsCutIdleAndSlow: a keep-alive connection that stays
// idle, one that sends the first 3 bytes of its next request and stops,
// one that stops within its first request's header, and a POST whose body
// trickles are all closed after the timeouts.
func TestServerTimeoutsCutIdleAndSlow(t *testing.T) {
	addr := startTimedDemo(t, testTimeouts, nil, false)
	const get = "GET /pushwire.js HTTP/1.1\r\nHost: x\r\n\r\n"
	dial := func() net.Conn {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		return nc
	}
	// readResponse reads one response from br.
	readResponse := func(br *bufio.Reader) *http.Response {
		t.Helper()
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("reading a response: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	const within = 5 * time.Second // the timeouts are 0.3 s; this is the test's patience

	t.Run("idle keep-alive", func(t *testing.T) {
		nc := dial()
		io.WriteString(nc, get)
		readResponse(bufio.NewReader(nc))
		if !closedWithin(nc, within) {
			t.Errorf("an idle keep-alive connection is still open after %v (IdleTimeout %v)", within, testTimeouts.idle)
		}
	})
	t.Run("3 bytes of a second request", func(t *testing.T) {
		nc := dial()
		io.WriteString(nc, get)
		readResponse(bufio.NewReader(nc))
		io.WriteString(nc, "GET")
		if !closedWithin(nc, within) {
			t.Errorf("a connection that sent 3 bytes of its second request is still open after %v", within)
		}
	})
	t.Run("header cut short", func(t *testing.T) {
		nc := dial()
		io.WriteString(nc, "GET / HTTP/1.1\r\nHost:")
		if !closedWithin(nc, within) {
			t.Errorf("a connection whose header stopped is still open after %v", within)
		}
	})
	t.Run("POST body at 5 bytes/s", func(t *testing.T) {
		nc := dial()
		const body = "a message sent far too slowly"
		fmt.Fprintf(nc, "POST /chat HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", addr, len(body))
		stop := make(chan struct{})
		var sent atomic.Int64
		go func() {
			for i := range len(body) {
				select {
				case <-stop:
					return
				case <-time.After(200 * time.Millisecond):
				}
				if _, err := io.WriteString(nc, body[i:i+1]); err != nil {
					return
				}
				sent.Add(1)
			}
		}()
		closed := closedWithin(nc, within)
		close(stop)
		if !closed {
			t.Errorf("a POST whose body trickles at 5 bytes/s still holds its connection after %v", within)
		}
		// Cut by the body's deadline, not by IdleTimeout once the whole
		// body had arrived (it takes 5.8 s; the timeouts are 0.3 s).
		if n := sent.Load(); n == int64(len(body)) {
			t.Errorf("the trickling POST was cut only after its whole body (%d bytes) was sent, want it cut by the read timeout %v", n, testTimeouts.read)
		}
	})
}

// TestServerTimeoutsSpareLongLived: the same timeouts cut none of the
// long-lived responses, over HTTP/1.1 and HTTP/2: a WebSocket (HTTP/1.1),
// the SSE, NDJSON and iframe streams of the chat, the /events stream and a
// held long poll all outlast several times every timeout and still
// deliver, and a publish whose body comes in time works.
func TestServerTimeoutsSpareLongLived(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		name := "HTTP/1.1"
		if h2 {
			name = "HTTP/2"
		}
		t.Run(name, func(t *testing.T) { spareLongLived(t, h2) })
	}
}

func spareLongLived(t *testing.T, h2 bool) {
	addr := startTimedDemo(t, testTimeouts, nil, h2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base := "http://" + addr
	client := http.DefaultClient
	if h2 {
		base = "https://" + addr
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		client = &http.Client{Transport: tr}
	}

	var ws *wsproto.Conn
	wsGot := make(chan string, 16)
	if !h2 {
		// Over HTTP/2 a WebSocket needs GODEBUG=http2xconnect=1 from the
		// start of the process; TestBrowserWebSocketOverHTTP2 covers it.
		var err error
		ws, _, err = wsproto.Dial(ctx, "ws://"+addr+"/chat?transport=websocket", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.CloseNow()
		go func() {
			defer close(wsGot)
			for {
				_, msg, err := ws.Read(ctx, nil)
				if err != nil {
					return
				}
				wsGot <- string(msg)
			}
		}()
	}
	streams := map[string]*http.Response{}
	for _, path := range []string{"/chat?transport=sse", "/chat?transport=stream", "/chat?transport=iframe", "/events"} {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		if h2 && resp.ProtoMajor != 2 {
			t.Fatalf("GET %s over %s, want HTTP/2", path, resp.Proto)
		}
		streams[path] = resp
	}
	// A long poll held for 3 s.
	type pollResult struct {
		body string
		err  error
	}
	pollDone := make(chan pollResult, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/chat?transport=poll&timeout=3", nil)
		resp, err := client.Do(req)
		if err != nil {
			pollDone <- pollResult{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		pollDone <- pollResult{string(b), err}
	}()

	time.Sleep(2 * time.Second) // more than six times every timeout

	// Publish with a POST, whose body arrives at once, and over the
	// WebSocket.
	want := "after the timeouts"
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/chat", strings.NewReader(chatJSON("t", want)))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /chat = %s, want 204", resp.Status)
	}
	if ws != nil {
		want = "over the websocket"
		if err := ws.Write(ctx, wsproto.MessageText, []byte(chatJSON("t", want))); err != nil {
			t.Fatalf("WebSocket write after the timeouts: %v", err)
		}
		for {
			msg, ok := <-wsGot
			if !ok {
				t.Fatalf("the WebSocket ended before %q arrived", want)
			}
			if strings.Contains(msg, want) {
				break
			}
		}
	}
	for path, resp := range streams {
		w := want
		if path == "/events" {
			w = "event: tick"
		}
		if err := readUntil(resp.Body, w, 10*time.Second); err != nil {
			t.Errorf("%s after the timeouts: %v", path, err)
		}
	}
	r := <-pollDone
	if r.err != nil || !strings.Contains(r.body, "after the timeouts") {
		t.Errorf("long poll held past the timeouts = %q, %v; want the message published during it", r.body, r.err)
	}
}

// chatJSON is a message as the demo's page sends it.
func chatJSON(nick, text string) string {
	b, _ := json.Marshal(chatMessage{Nick: nick, Text: text})
	return string(b)
}

// readUntil reads r until what it read contains want.
func readUntil(r io.Reader, want string, d time.Duration) error {
	got := make(chan error, 1)
	go func() {
		var b []byte
		p := make([]byte, 4096)
		for !strings.Contains(string(b), want) {
			n, err := r.Read(p)
			b = append(b, p[:n]...)
			if err != nil {
				got <- fmt.Errorf("%w after %q", err, tailOf(b))
				return
			}
		}
		got <- nil
	}()
	select {
	case err := <-got:
		return err
	case <-time.After(d):
		return errors.New("timed out waiting for " + want)
	}
}

func tailOf(b []byte) string {
	if len(b) > 200 {
		b = b[len(b)-200:]
	}
	return string(b)
}

// TestREADMEProductionTimeouts: the server configuration of the README's
// "Running in production" (compiled by examples.TestREADME) sets the
// timeouts that serve and echo use, which the two tests above exercise,
// and no WriteTimeout, which would cut held polls over HTTP/2.
func TestREADMEProductionTimeouts(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Running in production\n")
	if !ok {
		t.Fatal(`README.md has no "## Running in production" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, code, ok := strings.Cut(section, "```go\n")
	if !ok {
		t.Fatal(`"Running in production" has no Go snippet`)
	}
	code, _, _ = strings.Cut(code, "```")
	set := map[string]time.Duration{}
	for _, m := range regexp.MustCompile(`(?m)^\s*(\w+Timeout):\s*(\d+) \* time\.Second,`).FindAllStringSubmatch(code, -1) {
		n, _ := strconv.Atoi(m[2])
		set[m[1]] = time.Duration(n) * time.Second
	}
	want := map[string]time.Duration{
		"ReadHeaderTimeout": defaultTimeouts.header,
		"ReadTimeout":       defaultTimeouts.read,
		"IdleTimeout":       defaultTimeouts.idle,
	}
	if !maps.Equal(set, want) {
		t.Errorf("the README's server sets %v, want what serve and echo set: %v", set, want)
	}
	if regexp.MustCompile(`(?m)^\s*WriteTimeout:`).MatchString(code) {
		t.Errorf("the README's server sets a WriteTimeout, which resets HTTP/2 streams held longer (polls)")
	}
	srv := newHTTPServer(nil, defaultTimeouts, context.Background())
	if srv.WriteTimeout != 0 || srv.ReadHeaderTimeout != want["ReadHeaderTimeout"] || srv.ReadTimeout != want["ReadTimeout"] || srv.IdleTimeout != want["IdleTimeout"] {
		t.Errorf("newHTTPServer sets header %v, read %v, idle %v, write %v; want %v and no WriteTimeout", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout, srv.WriteTimeout, want)
	}
}
