package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushwire/pushwire/wsproto"
)

// echoServer is a pushwire echo server that counts the messages it echoes
// and can send one message to every connection.
type echoServer struct {
	*httptest.Server
	echoed atomic.Int64
	conns  chan *wsproto.Conn
}

func newEchoServer(t *testing.T) *echoServer {
	s := &echoServer{conns: make(chan *wsproto.Conn, 100)}
	h := wsproto.Handler(&wsproto.AcceptOptions{InsecureSkipOriginCheck: true, ReadLimit: 1 << 20}, func(c *wsproto.Conn, _ *http.Request) {
		s.conns <- c
		var buf []byte
		for {
			typ, msg, err := c.Read(context.Background(), buf)
			if err != nil {
				return
			}
			s.echoed.Add(1) // before the reply: a client that has it sees the count
			if err := c.Write(context.Background(), typ, msg); err != nil {
				return
			}
			buf = msg
		}
	})
	s.Server = httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// ask runs one worker command line and returns its answer.
func ask(t *testing.T, sets map[string]*set, line string) []string {
	t.Helper()
	reply, err := command(sets, strings.Fields(line))
	if err != nil {
		t.Fatalf("command(%q): %v", line, err)
	}
	f := strings.Fields(reply)
	if f[0] != "ok" {
		t.Fatalf("command(%q) = %q, want ok", line, reply)
	}
	return f[1:]
}

func nums(t *testing.T, f []string) []int64 {
	t.Helper()
	var out []int64
	for _, s := range f {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("answer %q: %v", f, err)
		}
		out = append(out, n)
	}
	return out
}

// TestWorkerEcho checks that the echo and count commands count the replies
// a real server sends, and latency one round trip per sample.
func TestWorkerEcho(t *testing.T) {
	srv := newEchoServer(t)
	addr := strings.TrimPrefix(srv.URL, "http://")
	sets := map[string]*set{}
	defer func() {
		for _, s := range sets {
			s.close()
		}
	}()
	if got := ask(t, sets, "dial a "+addr+" / 3 2 2 ws"); got[0] != "3" {
		t.Fatalf("dial answered %q, want 3 connections", got)
	}
	for _, batch := range []string{"0", "1"} {
		before := srv.echoed.Load()
		n := nums(t, ask(t, sets, "echo a 100 8 20 200 "+batch))[0]
		if n <= 0 || n > srv.echoed.Load()-before {
			t.Errorf("echo (batch %s) counted %d replies; the server echoed %d", batch, n, srv.echoed.Load()-before)
		}
	}
	ask(t, sets, "close a")

	// A server of its own: the first may still echo what set a left in
	// flight.
	srv = newEchoServer(t)
	addr = strings.TrimPrefix(srv.URL, "http://")
	ask(t, sets, "dial b "+addr+" / 2 2 1 ws")
	before := srv.echoed.Load()
	ask(t, sets, "count b 1000 4 600")
	if got := srv.echoed.Load() - before; got != 600 {
		t.Errorf("count b 1000 4 600: the server echoed %d messages, want 600", got)
	}
	lat := nums(t, ask(t, sets, "lat b 16 50 5"))
	if len(lat) != 50 {
		t.Errorf("lat b 16 50 5 answered %d samples, want 50", len(lat))
	}
	for _, ns := range lat {
		if ns <= 0 || ns > int64(10*time.Second) {
			t.Errorf("lat sample %d ns out of range", ns)
		}
	}
}

// TestWorkerDrain checks mark, wait and wake on drained connections: a
// message the server sends to every connection is counted on each, and
// each wake is one echoed round trip.
func TestWorkerDrain(t *testing.T) {
	srv := newEchoServer(t)
	addr := strings.TrimPrefix(srv.URL, "http://")
	sets := map[string]*set{}
	defer func() {
		for _, s := range sets {
			s.close()
		}
	}()
	ask(t, sets, "dial d "+addr+" / 5 2 3 ws-drain")
	var conns []*wsproto.Conn
	for range 5 {
		conns = append(conns, <-srv.conns)
	}
	ask(t, sets, "mark d")
	if got := nums(t, ask(t, sets, "wait d 50")); got[0] != 0 {
		t.Fatalf("wait before any message = %v, want 0 received", got)
	}
	t0 := time.Now().UnixNano()
	for _, c := range conns[:4] {
		if err := c.Write(context.Background(), wsproto.MessageBinary, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if got := nums(t, ask(t, sets, "wait d 200")); got[0] != 4 || got[1] < t0 {
		t.Errorf("wait after 4 of 5 received = %v, want 4 and a time after %d", got, t0)
	}
	conns[4].Write(context.Background(), wsproto.MessageBinary, []byte("x"))
	if got := nums(t, ask(t, sets, "wait d 5000")); got[0] != 5 {
		t.Errorf("wait after every connection received = %v, want 5", got)
	}
	// A ping is answered with a pong of the same payload.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := conns[0].Ping(ctx, []byte("p")); err != nil {
		t.Errorf("ping over a drained connection: %v", err)
	}
	before := srv.echoed.Load()
	if got := nums(t, ask(t, sets, "wake d 3 16")); len(got) != 3 {
		t.Errorf("wake d 3 16 answered %v, want 3 round trips", got)
	}
	if got := srv.echoed.Load() - before; got != 3 {
		t.Errorf("wake d 3 16: the server echoed %d messages, want 3", got)
	}
}

// TestDrainSSE checks that an SSE drain counts the events that carry data,
// not comments or events without data.
func TestDrainSSE(t *testing.T) {
	events := make(chan string)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for ev := range events {
			fmt.Fprint(w, ev)
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	defer close(events)
	sets := map[string]*set{}
	ask(t, sets, "dial s "+strings.TrimPrefix(srv.URL, "http://")+" /sse 1 2 1 sse-drain")
	defer sets["s"].close()
	ask(t, sets, "mark s")
	events <- ": keep-alive\n\nevent: x\nid: 1\n\n"
	if got := nums(t, ask(t, sets, "wait s 100")); got[0] != 0 {
		t.Errorf("after a comment and an event without data: %v received, want 0", got)
	}
	events <- "id: 2\ndata: {\"a\":1}\ndata: more\n\n"
	if got := nums(t, ask(t, sets, "wait s 5000")); got[0] != 1 {
		t.Errorf("after an event with data: %v received, want 1", got)
	}
}

// TestBinaryFrame checks the generator's frame against the bytes RFC 6455
// §5.7 writes out for a masked frame.
func TestBinaryFrame(t *testing.T) {
	// The generator's key is the one of the RFC's example.
	f := clientFrame(0x1, []byte("Hello"))
	// RFC 6455 §5.7: "A single-frame masked text message ... 0x81 0x85 0x37
	// 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58 (contains "Hello")".
	want := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}
	if !bytes.Equal(f, want) {
		t.Errorf("clientFrame(text, %q) = % x, want % x", "Hello", f, want)
	}
	if got := len(binaryFrame(70000)); got != 14+70000 {
		t.Errorf("len(binaryFrame(70000)) = %d, want %d", got, 14+70000)
	}
}
