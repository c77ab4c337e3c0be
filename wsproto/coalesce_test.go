package wsproto

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushwire/pushwire/internal/wsbatch"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// writeCounter counts the Write calls made to a net.Conn.
type writeCounter struct {
	net.Conn
	writes atomic.Int64
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.writes.Add(1)
	return w.Conn.Write(p)
}

// batchPair returns a server Conn over a writeCounter, with coalescing on,
// and the raw TCP connection of its peer.
func batchPair(t *testing.T) (*Conn, *writeCounter, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	wc := &writeCounter{Conn: sc}
	c := newConn(wc, connConfig{})
	wsbatch.Enable(c)
	t.Cleanup(func() { c.CloseNow(); raw.Close() })
	raw.SetDeadline(time.Now().Add(30 * time.Second))
	return c, wc, raw
}

// clientFrame is a masked frame, as a client sends it.
func clientFrame(op frame.Opcode, p []byte) []byte {
	h := frame.Header{Fin: true, Opcode: op, Length: int64(len(p)), Masked: true, Mask: [4]byte{1, 2, 3, 4}}
	b := append(frame.AppendHeader(nil, h), p...)
	frame.Mask(h.Mask, 0, b[len(b)-len(p):])
	return b
}

type wireFrame struct {
	op      frame.Opcode
	payload string
}

// readFrames reads n unmasked frames from r.
func readFrames(t *testing.T, r *bufio.Reader, n int) []wireFrame {
	t.Helper()
	var out []wireFrame
	var scratch [frame.MaxHeaderSize]byte
	for range n {
		h, err := frame.ReadHeader(r, &scratch)
		if err != nil {
			t.Fatalf("after %d frames: %v", len(out), err)
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(r, p); err != nil {
			t.Fatal(err)
		}
		out = append(out, wireFrame{h.Opcode, string(p)})
	}
	return out
}

// echoUntilError is the echo of internal/wsecho's Loop.
func echoUntilError(c *Conn) error {
	ctx := context.Background()
	var buf []byte
	for {
		typ, msg, err := c.Read(ctx, buf)
		if err != nil {
			return err
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			return err
		}
		buf = ReuseBuffer(msg)
	}
}

// TestCoalescedReplies: replies to frames that arrived together leave in
// fewer writes than messages, in order, with a pong and the closing
// handshake in their place; a message that arrives alone is answered at
// once, while the server waits for input.
func TestCoalescedReplies(t *testing.T) {
	c, wc, raw := batchPair(t)
	// Eight 22-byte frames: the server's first read takes 120 bytes (its
	// idle array), its second the rest, so it writes twice.
	var burst []byte
	var want []wireFrame
	for i := range 8 {
		p := fmt.Sprintf("message %8d", i)
		burst = append(burst, clientFrame(frame.OpBinary, []byte(p))...)
		want = append(want, wireFrame{frame.OpBinary, p})
	}
	if _, err := raw.Write(burst); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- echoUntilError(c) }()
	r := bufio.NewReader(raw)
	got := readFrames(t, r, len(want))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("replies %v, want %v", got, want)
	}
	if n := wc.writes.Load(); n > 2 {
		t.Errorf("8 replies to one burst in %d writes, want at most 2", n)
	}

	// Alone: answered while the server waits for more.
	before := wc.writes.Load()
	if _, err := raw.Write(clientFrame(frame.OpText, []byte("alone"))); err != nil {
		t.Fatal(err)
	}
	if got := readFrames(t, r, 1); got[0] != (wireFrame{frame.OpText, "alone"}) {
		t.Fatalf("reply %v", got)
	}
	if n := wc.writes.Load() - before; n != 1 {
		t.Errorf("one reply in %d writes", n)
	}

	// A ping and a close inside a burst: the pong and the close frame
	// come after the replies written before them.
	burst = burst[:0]
	want = want[:0]
	for i := range 3 {
		p := fmt.Sprint("before ping ", i)
		burst = append(burst, clientFrame(frame.OpText, []byte(p))...)
		want = append(want, wireFrame{frame.OpText, p})
	}
	burst = append(burst, clientFrame(frame.OpPing, []byte("p"))...)
	want = append(want, wireFrame{frame.OpPong, "p"})
	burst = append(burst, clientFrame(frame.OpBinary, []byte("after ping"))...)
	want = append(want, wireFrame{frame.OpBinary, "after ping"})
	closing, _ := frame.AppendClosePayload(nil, frame.CloseNormal, "")
	burst = append(burst, clientFrame(frame.OpClose, closing)...)
	want = append(want, wireFrame{frame.OpClose, string(closing)})
	if _, err := raw.Write(burst); err != nil {
		t.Fatal(err)
	}
	got = readFrames(t, r, len(want))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("frames %v, want %v", got, want)
	}
	if err := <-ended; frame.CloseStatus(err) != frame.CloseNormal {
		t.Fatalf("echo ended with %v, want the peer's close 1000", err)
	}
}

// TestCoalescedConcurrentWriters: messages written by other goroutines
// while replies are held all arrive, each writer's in order, and so do
// the replies.
func TestCoalescedConcurrentWriters(t *testing.T) {
	c, _, raw := batchPair(t)
	ended := make(chan error, 1)
	go func() { ended <- echoUntilError(c) }()
	const writers, perWriter, bursts, perBurst = 3, 100, 20, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				if err := c.Write(context.Background(), MessageText, fmt.Appendf(nil, "w%d %d", w, i)); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		}()
	}
	go func() {
		for b := range bursts {
			var burst []byte
			for i := range perBurst {
				burst = append(burst, clientFrame(frame.OpBinary, fmt.Appendf(nil, "e %d", b*perBurst+i))...)
			}
			if _, err := raw.Write(burst); err != nil {
				t.Errorf("burst %d: %v", b, err)
				return
			}
		}
	}()
	got := readFrames(t, bufio.NewReader(raw), writers*perWriter+bursts*perBurst)
	next := map[string]int{}
	for _, f := range got {
		var who string
		var i int
		if f.op == frame.OpBinary {
			who = "e"
			fmt.Sscanf(f.payload, "e %d", &i)
		} else {
			fmt.Sscanf(f.payload, "%s %d", &who, &i)
		}
		if i != next[who] {
			t.Fatalf("%q after %d of %s", f.payload, next[who], who)
		}
		next[who]++
	}
	wg.Wait()
	c.CloseNow()
	<-ended
}
