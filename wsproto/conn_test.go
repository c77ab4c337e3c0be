package wsproto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushwire/pushwire/internal/leakcheck"
	"github.com/pushwire/pushwire/wsproto/frame"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// pair returns a server and a client connection over loopback TCP.
func pair(t testing.TB, aopts *AcceptOptions, dopts *DialOptions) (server, client *Conn) {
	t.Helper()
	conns := make(chan *Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, aopts)
		if err != nil {
			t.Errorf("Accept: %v", err)
			return
		}
		conns <- c
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, _, err := Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), dopts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	server = <-conns
	t.Cleanup(func() { server.CloseNow(); client.CloseNow() })
	return server, client
}

func payload(n int, typ MessageType, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	b := make([]byte, n)
	if typ == MessageText {
		const alphabet = "abcdefghijklmnopqrstuvwxyz äöü€𝄞\n"
		rs := []rune(alphabet)
		var sb strings.Builder
		for sb.Len() < n {
			sb.WriteRune(rs[r.IntN(len(rs))])
		}
		s := sb.String()
		// Cut back to a whole code point at or below n bytes, then pad.
		for len(s) > n {
			_, size := lastRune(s)
			s = s[:len(s)-size]
		}
		copy(b, s)
		for i := len(s); i < n; i++ {
			b[i] = 'x'
		}
		return b
	}
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func lastRune(s string) (rune, int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return rune(s[i]), len(s) - i
		}
	}
	return 0, 1
}

var roundTripSizes = []int{0, 1, 125, 126, 127, 65535, 64 << 10, 64<<10 + 1, 16 << 20}

// TestRoundTrip sends messages of the boundary sizes both ways between a
// pushwire client and server, whole and fragmented, text and binary.
func TestRoundTrip(t *testing.T) {
	server, client := pair(t, &AcceptOptions{ReadLimit: 32 << 20}, &DialOptions{ReadLimit: 32 << 20})
	ctx := context.Background()
	for _, dir := range []struct {
		name     string
		from, to *Conn
	}{{"client-to-server", client, server}, {"server-to-client", server, client}} {
		for _, typ := range []MessageType{MessageText, MessageBinary} {
			for _, fragmented := range []bool{false, true} {
				for _, n := range roundTripSizes {
					name := fmt.Sprintf("%s/%v/fragmented=%v/%d", dir.name, typ, fragmented, n)
					t.Run(name, func(t *testing.T) {
						want := payload(n, typ, 1)
						errc := make(chan error, 1)
						go func() {
							if !fragmented {
								errc <- dir.from.Write(ctx, typ, want)
								return
							}
							w, err := dir.from.Writer(ctx, typ)
							if err != nil {
								errc <- err
								return
							}
							// Uneven pieces: frames split code points.
							rest := want
							for i := 1; len(rest) > 0; i = i*3 + 1 {
								k := min(i, len(rest))
								if _, err := w.Write(rest[:k]); err != nil {
									errc <- err
									return
								}
								rest = rest[k:]
							}
							errc <- w.Close()
						}()
						gotTyp, got, err := dir.to.Read(ctx, nil)
						if err != nil {
							t.Fatalf("Read: %v", err)
						}
						if err := <-errc; err != nil {
							t.Fatalf("write: %v", err)
						}
						if gotTyp != typ || !bytes.Equal(got, want) {
							t.Fatalf("Read = %v, %d bytes; want %v, %d bytes (equal=%v)", gotTyp, len(got), typ, len(want), bytes.Equal(got, want))
						}
					})
				}
			}
		}
	}
}

// TestReaderStreams reads a fragmented 1 MiB message through Reader in
// small pieces.
func TestReaderStreams(t *testing.T) {
	server, client := pair(t, &AcceptOptions{ReadLimit: 2 << 20}, nil)
	ctx := context.Background()
	want := payload(1<<20, MessageBinary, 2)
	go func() {
		w, _ := client.Writer(ctx, MessageBinary)
		w.Write(want[:1000])
		w.Write(want[1000:])
		w.Close()
		client.Write(ctx, MessageText, []byte("next"))
	}()
	typ, r, err := server.Reader(ctx)
	if err != nil || typ != MessageBinary {
		t.Fatalf("Reader = %v, %v", typ, err)
	}
	got, err := io.ReadAll(io.LimitReader(r, 1<<30))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadAll = %d bytes, %v; want %d bytes", len(got), err, len(want))
	}
	typ, msg, err := server.Read(ctx, nil)
	if err != nil || typ != MessageText || string(msg) != "next" {
		t.Fatalf("Read after stream = %v %q %v", typ, msg, err)
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, errStaleReader) {
		t.Fatalf("stale reader Read error = %v, want %v", err, errStaleReader)
	}
}

// TestReaderAbandoned checks that a message left half read is skipped.
func TestReaderAbandoned(t *testing.T) {
	server, client := pair(t, nil, nil)
	ctx := context.Background()
	go func() {
		client.Write(ctx, MessageBinary, bytes.Repeat([]byte{7}, 5000))
		client.Write(ctx, MessageText, []byte("second"))
	}()
	_, r, err := server.Reader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(r, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	typ, msg, err := server.Read(ctx, nil)
	if err != nil || typ != MessageText || string(msg) != "second" {
		t.Fatalf("Read = %v %q %v, want text \"second\"", typ, msg, err)
	}
}

// TestConcurrentWriters has many goroutines write at once; every message
// must arrive whole.
func TestConcurrentWriters(t *testing.T) {
	server, client := pair(t, &AcceptOptions{ReadLimit: 1 << 20}, nil)
	ctx := context.Background()
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				msg := bytes.Repeat([]byte{byte('a' + w)}, 100+i*37)
				if i%3 == 0 {
					wr, err := client.Writer(ctx, MessageText)
					if err != nil {
						t.Error(err)
						return
					}
					wr.Write(msg[:len(msg)/2])
					wr.Write(msg[len(msg)/2:])
					if err := wr.Close(); err != nil {
						t.Error(err)
					}
					continue
				}
				if err := client.Write(ctx, MessageText, msg); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// Pings race with the messages too.
	go func() {
		for range 20 {
			client.writeControl(ctx, frame.OpPing, []byte("p"))
		}
	}()
	counts := make(map[byte]int)
	var buf []byte
	for range writers * each {
		_, msg, err := server.Read(ctx, buf)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if len(msg) == 0 || bytes.Count(msg, msg[:1]) != len(msg) {
			t.Fatalf("message mixes writers: %q...", msg[:min(len(msg), 40)])
		}
		counts[msg[0]]++
		buf = msg
	}
	wg.Wait()
	for w := range writers {
		if counts[byte('a'+w)] != each {
			t.Errorf("writer %d: %d messages, want %d", w, counts[byte('a'+w)], each)
		}
	}
}

// TestPing has each side ping the other while the other reads.
func TestPing(t *testing.T) {
	var pings []string
	var mu sync.Mutex
	server, client := pair(t, &AcceptOptions{OnPing: func(p []byte) {
		mu.Lock()
		pings = append(pings, string(p))
		mu.Unlock()
	}}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	readErr := make(chan error, 2)
	go func() { _, _, err := server.Read(ctx, nil); readErr <- err }()
	go func() { _, _, err := client.Read(ctx, nil); readErr <- err }()
	if err := client.Ping(ctx, []byte("from client")); err != nil {
		t.Fatalf("client Ping: %v", err)
	}
	if err := server.Ping(ctx, nil); err != nil {
		t.Fatalf("server Ping: %v", err)
	}
	if err := client.Ping(ctx, bytes.Repeat([]byte("x"), 126)); err == nil {
		t.Fatal("Ping with 126 bytes succeeded, want error")
	}
	mu.Lock()
	if len(pings) != 1 || pings[0] != "from client" {
		t.Errorf("server OnPing saw %q, want [\"from client\"]", pings)
	}
	mu.Unlock()
	client.Close(frame.CloseNormal, "")
	<-readErr
	<-readErr
}

// TestCloseHandshake checks the close codes and reasons both ways and the
// states on each side.
func TestCloseHandshake(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   frame.CloseCode
		reason string
	}{
		{"normal", frame.CloseNormal, "bye"},
		{"going away", frame.CloseGoingAway, ""},
		{"application", 4000, "custom ✓"},
		{"no status", frame.CloseNoStatus, ""},
	} {
		for _, initiator := range []string{"client", "server"} {
			t.Run(tc.name+"/"+initiator, func(t *testing.T) {
				server, client := pair(t, nil, nil)
				closer, peer := client, server
				if initiator == "server" {
					closer, peer = server, client
				}
				ctx := context.Background()
				readErr := make(chan error, 1)
				go func() {
					_, _, err := peer.Read(ctx, nil)
					readErr <- err
				}()
				if err := closer.Close(tc.code, tc.reason); err != nil {
					t.Fatalf("Close: %v", err)
				}
				err := <-readErr
				var ce frame.CloseError
				if !errors.As(err, &ce) || ce.Code != tc.code || ce.Reason != tc.reason {
					t.Fatalf("peer Read error = %v, want CloseError{%d, %q}", err, tc.code, tc.reason)
				}
				if closer.State() != StateClosed {
					t.Errorf("closer state = %v, want CLOSED", closer.State())
				}
				waitState(t, peer, StateClosed)
				if err := closer.Write(ctx, MessageText, []byte("late")); err == nil {
					t.Error("Write after Close succeeded")
				}
				if _, _, err := peer.Read(ctx, nil); frame.CloseStatus(err) != tc.code {
					t.Errorf("second Read error = %v, want close code %d again", err, tc.code)
				}
			})
		}
	}
}

func waitState(t *testing.T, c *Conn, want State) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("state = %v, want %v", c.State(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCloseTimeout: a peer that never answers the close frame.
func TestCloseTimeout(t *testing.T) {
	server, _ := pair(t, &AcceptOptions{CloseTimeout: 100 * time.Millisecond}, nil)
	// The client never reads, so it never answers.
	err := server.Close(frame.CloseNormal, "")
	if err == nil {
		t.Fatal("Close = nil, want a timeout error")
	}
	if server.State() != StateClosed {
		t.Fatalf("state = %v, want CLOSED", server.State())
	}
}

// TestAbnormalClosure: the TCP connection ends without a close frame.
func TestAbnormalClosure(t *testing.T) {
	server, client := pair(t, nil, nil)
	client.CloseNow()
	_, _, err := server.Read(context.Background(), nil)
	if frame.CloseStatus(err) != frame.CloseAbnormal || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Read error = %v, want close code 1006 wrapping io.ErrUnexpectedEOF", err)
	}
}

// TestReadContext: a context that ends between messages leaves the
// connection usable; one that ends inside a message fails it with 1008.
func TestReadContext(t *testing.T) {
	server, client := pair(t, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, _, err := server.Read(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read error = %v, want context.DeadlineExceeded", err)
	}
	bg := context.Background()
	if err := client.Write(bg, MessageText, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	_, msg, err := server.Read(bg, nil)
	if err != nil || string(msg) != "still here" {
		t.Fatalf("Read after timeout = %q, %v", msg, err)
	}

	// Now a message whose second frame never comes.
	w, _ := client.Writer(bg, MessageBinary)
	w.Write(bytes.Repeat([]byte{1}, writeChunk))
	readErr := make(chan error, 1)
	go func() { _, _, err := client.Read(bg, nil); readErr <- err }()
	ctx2, cancel2 := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel2()
	if _, _, err := server.Read(ctx2, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read error = %v, want context.DeadlineExceeded", err)
	}
	if got := frame.CloseStatus(<-readErr); got != frame.ClosePolicyViolation {
		t.Fatalf("client saw close code %d, want 1008", got)
	}
	w.Close()
}

// TestWriteContextCanceled: a canceled context writes nothing.
func TestWriteContextCanceled(t *testing.T) {
	server, client := pair(t, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := client.Write(ctx, MessageText, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write error = %v, want context.Canceled", err)
	}
	bg := context.Background()
	go client.Write(bg, MessageText, []byte("ok"))
	if _, msg, err := server.Read(bg, nil); err != nil || string(msg) != "ok" {
		t.Fatalf("Read = %q, %v", msg, err)
	}
}

// TestReadLimit: a message over the limit fails the connection with 1009.
func TestReadLimit(t *testing.T) {
	server, client := pair(t, &AcceptOptions{ReadLimit: 1000}, nil)
	bg := context.Background()
	go client.Write(bg, MessageBinary, make([]byte, 1001))
	readErr := make(chan error, 1)
	go func() { _, _, err := client.Read(bg, nil); readErr <- err }()
	_, _, err := server.Read(bg, nil)
	if !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("server Read error = %v, want ErrMessageTooBig", err)
	}
	if got := frame.CloseStatus(<-readErr); got != frame.CloseTooBig {
		t.Fatalf("client saw close code %d, want 1009", got)
	}
}

// TestPreparedMessage writes one prepared message to server and client
// connections.
func TestPreparedMessage(t *testing.T) {
	server, client := pair(t, nil, nil)
	pm, err := NewPreparedMessage(MessageText, []byte("to everyone"))
	if err != nil {
		t.Fatal(err)
	}
	bg := context.Background()
	for _, tc := range []struct {
		name     string
		from, to *Conn
	}{{"server", server, client}, {"client", client, server}} {
		go tc.from.WritePrepared(bg, pm)
		typ, msg, err := tc.to.Read(bg, nil)
		if err != nil || typ != MessageText || string(msg) != "to everyone" {
			t.Errorf("%s: Read = %v %q %v", tc.name, typ, msg, err)
		}
	}
}

// TestNetConn carries a byte stream through the adapter.
func TestNetConn(t *testing.T) {
	server, client := pair(t, nil, nil)
	sc, cc := NetConn(server, MessageBinary), NetConn(client, MessageBinary)
	want := payload(200000, MessageBinary, 3)
	go func() {
		for rest := want; len(rest) > 0; {
			k := min(7000, len(rest))
			cc.Write(rest[:k])
			rest = rest[k:]
		}
		cc.Close()
	}()
	got, err := io.ReadAll(sc)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadAll = %d bytes, %v; want %d bytes", len(got), err, len(want))
	}
	sc.SetReadDeadline(time.Now().Add(-time.Second))
}

// TestNetConnDeadline: the adapter's read deadline times a read out, and a
// later deadline makes it usable again.
func TestNetConnDeadline(t *testing.T) {
	server, client := pair(t, nil, nil)
	sc := NetConn(server, MessageBinary)
	sc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	var ne net.Error
	if _, err := sc.Read(make([]byte, 10)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read error = %v, want a timeout", err)
	}
	sc.SetReadDeadline(time.Time{})
	go client.Write(context.Background(), MessageBinary, []byte("late"))
	b := make([]byte, 10)
	n, err := sc.Read(b)
	if err != nil || string(b[:n]) != "late" {
		t.Fatalf("Read = %q, %v", b[:n], err)
	}
}

// TestStates follows readyState through a connection's life.
func TestStates(t *testing.T) {
	server, client := pair(t, nil, nil)
	if server.State() != StateOpen || client.State() != StateOpen {
		t.Fatalf("states = %v, %v, want OPEN", server.State(), client.State())
	}
	client.CloseNow()
	if client.State() != StateClosed {
		t.Fatalf("after CloseNow state = %v", client.State())
	}
	for _, s := range []State{StateOpen, StateClosing, StateClosed} {
		if s.String() == "" || strings.HasPrefix(s.String(), "State(") {
			t.Errorf("State(%d).String() = %q", s, s.String())
		}
	}
}

// TestWriterCutShort: a context that ends between two frames of a
// fragmented message ends the connection, so that no later message can
// land inside the unfinished one.
func TestWriterCutShort(t *testing.T) {
	server, client := pair(t, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	w, err := client.Writer(ctx, MessageBinary)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, writeChunk)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := w.Close(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close error = %v, want context.Canceled", err)
	}
	if client.State() != StateClosed {
		t.Fatalf("client state = %v, want CLOSED", client.State())
	}
	if err := client.Write(context.Background(), MessageText, []byte("late")); err == nil {
		t.Fatal("Write after a cut message succeeded")
	}
	if _, _, err := server.Read(context.Background(), nil); frame.CloseStatus(err) != frame.CloseAbnormal {
		t.Fatalf("server Read error = %v, want 1006", err)
	}
}
