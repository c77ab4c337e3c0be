package wsecho

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// rawClient is a WebSocket client on a bare socket, which holds no
// goroutine: the test counts the server's goroutines in its own process.
type rawClient struct {
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	rc := &rawClient{nc: nc, br: bufio.NewReader(nc)}
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v, %v", resp, err)
	}
	return rc
}

// echo sends a masked binary message and reads its echo.
func (rc *rawClient) echo(t testing.TB, msg []byte) {
	t.Helper()
	key := [4]byte{1, 2, 3, 4}
	b := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Mask: key, Length: int64(len(msg))})
	p := append([]byte(nil), msg...)
	frame.Mask(key, 0, p)
	if _, err := rc.nc.Write(append(b, p...)); err != nil {
		t.Fatal(err)
	}
	rc.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var scratch [frame.MaxHeaderSize]byte
	h, err := frame.ReadHeader(rc.br, &scratch)
	if err != nil {
		t.Fatalf("reading the echo's header: %v", err)
	}
	got := make([]byte, h.Length)
	if _, err := io.ReadFull(rc.br, got); err != nil || h.Opcode != frame.OpBinary || !bytes.Equal(got, msg) {
		t.Fatalf("echo of %d bytes = %v %d bytes, %v", len(msg), h.Opcode, len(got), err)
	}
}

// TestServeIdleGoroutines opens 1,000 connections to Serve, echoes one
// message on each, and checks that the idle connections hold no goroutine
// (runtime.NumGoroutine; a constant for the poller's own) where wsidle
// parks them, then that each still echoes, including a message larger than
// the read buffer and one split across writes.
func TestServeIdleGoroutines(t *testing.T) {
	const n = 1000
	srv := httptest.NewServer(wsproto.Handler(nil, func(c *wsproto.Conn, _ *http.Request) { Serve(c) }))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	before := settled()
	clients := make([]*rawClient, n)
	for i := range clients {
		clients[i] = dialRaw(t, addr)
		defer clients[i].nc.Close()
		clients[i].echo(t, []byte("hello"))
	}
	idle := settled()
	per := float64(idle-before) / n
	t.Logf("%d goroutines before, %d with %d idle connections: %.3f per connection", before, idle, n, per)
	limit := 16 // the poller's dispatcher and workers, net/http's listener
	if runtime.GOOS != "linux" {
		limit += n // the portable netpoll waits with a goroutine per armed watch
	}
	if idle-before > limit {
		t.Errorf("%d idle connections hold %d goroutines, want at most %d", n, idle-before, limit)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	for i, rc := range clients {
		if i%100 == 0 {
			rc.echo(t, big)
		}
		rc.echo(t, []byte("again"))
	}
	// A message split across writes: the second part arrives while the
	// connection waits in Read, not parked.
	rc := clients[0]
	key := [4]byte{9, 9, 9, 9}
	msg := []byte("split message")
	p := append([]byte(nil), msg...)
	frame.Mask(key, 0, p)
	hdr := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpText, Masked: true, Mask: key, Length: int64(len(msg))})
	rc.nc.Write(hdr[:1])
	time.Sleep(20 * time.Millisecond)
	rc.nc.Write(append(hdr[1:], p[:3]...))
	time.Sleep(20 * time.Millisecond)
	rc.nc.Write(p[3:])
	var scratch [frame.MaxHeaderSize]byte
	rc.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	h, err := frame.ReadHeader(rc.br, &scratch)
	got := make([]byte, h.Length)
	if err == nil {
		_, err = io.ReadFull(rc.br, got)
	}
	if err != nil || string(got) != string(msg) {
		t.Fatalf("echo of a split message = %q, %v", got, err)
	}
}

// settled waits until runtime.NumGoroutine stops changing and returns it.
func settled() int {
	last, same := runtime.NumGoroutine(), 0
	for i := 0; i < 200 && same < 5; i++ {
		time.Sleep(20 * time.Millisecond)
		n := runtime.NumGoroutine()
		if n == last {
			same++
		} else {
			same = 0
		}
		last = n
	}
	return last
}

// TestServeAllocs checks that Serve allocates nothing per message in
// steady state, where it parks the connection after every message (one
// message at a time): parking, the readiness and the resume included.
func TestServeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not checked under the race detector")
	}
	srv := httptest.NewServer(wsproto.Handler(nil, func(c *wsproto.Conn, _ *http.Request) { Serve(c) }))
	defer srv.Close()
	ctx := context.Background()
	c, _, err := wsproto.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	msg := make([]byte, 16)
	buf := make([]byte, 0, 64)
	roundTrip := func() {
		if err := c.Write(ctx, wsproto.MessageBinary, msg); err != nil {
			t.Fatal(err)
		}
		_, m, err := c.Read(ctx, buf)
		if err != nil {
			t.Fatal(err)
		}
		buf = m
	}
	for range 100 {
		roundTrip() // the pools fill
	}
	if allocs := testing.AllocsPerRun(500, roundTrip); allocs != 0 {
		t.Errorf("a round trip through Serve allocates %v times, want 0", allocs)
	}
}
