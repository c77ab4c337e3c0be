package httpstream

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/pushwire/pushwire/hub"
)

// wsReaderGoroutines is what an idle WebSocket subscriber holds.
var wsReaderGoroutines = map[bool]float64{true: 0, false: 1}[runtime.GOOS == "linux"]

// memberCount counts the streams and held polls of h.
func (h *Handler) memberCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for m := h.members.next; m != nil; m = m.next {
		n++
	}
	return n
}

// TestIdleGoroutines opens 1,000 idle subscribers over each transport
// from raw sockets (which hold no goroutine in this process) and checks
// runtime.NumGoroutine: no goroutine per SSE, NDJSON or iframe stream or
// per waiting long poll, and none per WebSocket subscriber on Linux, where
// its reader parks (internal/wsidle; elsewhere the portable netpoll waits
// with one). Then one publish reaches every stream, and closing the clients
// ends everything (the leak check of TestMain).
func TestIdleGoroutines(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 connections per transport; not in -short")
	}
	const n = 1000
	tests := []struct {
		transport string
		extra     string // more header fields
		first     string // what the client reads before it is idle ("" for a poll)
		perConn   float64
	}{
		{"sse", "", "pushwire.cursor", 0},
		{"stream", "", `{"cursor":`, 0},
		{"iframe", "", "<script>", 0},
		{"poll", "", "", 0},
		{"websocket", "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", `{"cursor":`, wsReaderGoroutines},
	}
	for _, tt := range tests {
		t.Run(tt.transport, func(t *testing.T) {
			tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1"})
			srv, h := serve(t, tp, &Options{KeepAlive: time.Hour, PollTimeout: time.Hour})
			addr := strings.TrimPrefix(srv.URL, "http://")
			before := settledGoroutines(-1)
			conns := make([]net.Conn, 0, n)
			readers := make([]*bufio.Reader, 0, n)
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			req := fmt.Sprintf("GET /?transport=%s&cursor=0 HTTP/1.1\r\nHost: %s\r\n%s\r\n", tt.transport, addr, tt.extra)
			for range n {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
				if _, err := c.Write([]byte(req)); err != nil {
					t.Fatal(err)
				}
				br := bufio.NewReader(c)
				readers = append(readers, br)
				if tt.first != "" {
					readUntilRaw(t, c, br, tt.first)
				}
			}
			deadline := time.Now().Add(20 * time.Second)
			for h.memberCount() < n {
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d subscribers registered", h.memberCount(), n)
				}
				time.Sleep(10 * time.Millisecond)
			}
			idle := settledGoroutines(before)
			per := float64(idle-before) / n
			t.Logf("%s: %d goroutines before, %d with %d idle subscribers: %.3f per subscriber", tt.transport, before, idle, n, per)
			// A constant of 16 for the poller's and the hub's own goroutines.
			if limit := tt.perConn*n + 16; float64(idle-before) > limit {
				t.Errorf("%d idle %s subscribers hold %d goroutines (%.3f each), want at most %.0f", n, tt.transport, idle-before, per, limit)
			}
			// Every one is still served: a publish reaches all.
			publish(t, tp, "", "wake")
			for i, c := range conns {
				if !readUntilRaw(t, c, readers[i], "wake") {
					t.Fatalf("subscriber %d did not get the entry", i)
				}
			}
		})
	}
}

// readUntilRaw reads from br until want was read, with a timeout.
func readUntilRaw(t *testing.T, c net.Conn, br *bufio.Reader, want string) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	var got []byte
	var buf [4096]byte
	for !strings.Contains(string(got), want) {
		k, err := br.Read(buf[:])
		if err != nil {
			t.Fatalf("reading for %q: %v after %q", want, err, tail(got))
			return false
		}
		got = append(got[max(0, len(got)-len(want)):], buf[:k]...)
	}
	return true
}

// settledGoroutines waits until runtime.NumGoroutine stops changing (and,
// if before ≥ 0, is at least before) and returns it.
func settledGoroutines(before int) int {
	last, same := runtime.NumGoroutine(), 0
	for i := 0; i < 200 && same < 5; i++ {
		time.Sleep(20 * time.Millisecond)
		n := runtime.NumGoroutine()
		if n == last && n >= before {
			same++
		} else {
			same = 0
		}
		last = n
	}
	return last
}

// TestStreamSize: what an idle stream is, besides its sink and
// subscription: one stream struct of the 288-byte size class and one of
// a held poll of 224 (its timeout is a place in a FIFO, not a timer of
// its own: expiry.go).
func TestStreamSize(t *testing.T) {
	if size := unsafe.Sizeof(stream{}); size > 288 {
		t.Errorf("stream is %d bytes, want at most 288", size)
	}
	if size := unsafe.Sizeof(heldPoll{}); size > 224 {
		t.Errorf("heldPoll is %d bytes, want at most 224", size)
	}
}
