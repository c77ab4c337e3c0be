package h2stream

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushwire/pushwire/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// pipeConn returns a Conn whose peer half is an io.Pipe: the test writes
// what the Conn reads to peer, and reads what the Conn writes from out.
// Writes block until out is read, like a stream without flow-control
// credit; reset makes them fail, as a reset stream does.
func pipeConn(t *testing.T) (c *Conn, peer *io.PipeWriter, out *io.PipeReader, resets *atomic.Int32) {
	t.Helper()
	br, bw := io.Pipe()
	or, ow := io.Pipe()
	resets = new(atomic.Int32)
	c = newConn(br, addr("local"), addr("remote"))
	c.write = ow.Write
	c.reset = func() {
		resets.Add(1)
		ow.CloseWithError(errors.New("stream reset"))
	}
	c.end = func() { ow.Close() }
	t.Cleanup(func() {
		c.Close()
		bw.Close()
		or.Close()
	})
	return c, bw, or, resets
}

func TestConnReadWrite(t *testing.T) {
	c, peer, out, _ := pipeConn(t)
	for _, n := range []int{1, smallRead, smallRead + 1, bigRead, 3 * bigRead} {
		want := bytes.Repeat([]byte{byte(n)}, n)
		go peer.Write(want)
		got := make([]byte, n)
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("ReadFull of %d bytes = %v, equal: %v; want the bytes written", n, err, bytes.Equal(got, want))
		}
	}
	go c.Write([]byte("hello"))
	got := make([]byte, 5)
	if _, err := io.ReadFull(out, got); err != nil || string(got) != "hello" {
		t.Fatalf("peer read %q, %v, want \"hello\"", got, err)
	}
	peer.Close()
	if n, err := c.Read(got); n != 0 || err != io.EOF {
		t.Fatalf("Read after the peer's end = %d, %v, want 0, EOF", n, err)
	}
	if c.LocalAddr().String() != "local" || c.RemoteAddr().String() != "remote" {
		t.Errorf("addresses = %v, %v, want local, remote", c.LocalAddr(), c.RemoteAddr())
	}
}

// A read deadline interrupts a waiting Read; the stream stays usable and
// the bytes that arrive later go to the next Read.
func TestConnReadDeadline(t *testing.T) {
	c, peer, _, _ := pipeConn(t)
	buf := make([]byte, 64)
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline = %v, want os.ErrDeadlineExceeded", err)
	}
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("second Read past the deadline = %v, want os.ErrDeadlineExceeded", err)
	}
	// A deadline set while a Read waits applies to it.
	c.SetReadDeadline(time.Time{})
	errc := make(chan error, 1)
	go func() {
		_, err := c.Read(buf)
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if err := <-errc; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read with a deadline set while it waited = %v, want os.ErrDeadlineExceeded", err)
	}
	c.SetReadDeadline(time.Time{})
	go peer.Write([]byte("late"))
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "late" {
		t.Fatalf("Read after the deadline was lifted = %q, %v, want \"late\"", buf[:n], err)
	}
}

// A write deadline that passes during a Write resets the stream; every
// later Write fails.
func TestConnWriteDeadline(t *testing.T) {
	c, _, _, resets := pipeConn(t)
	c.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := c.Write([]byte("nobody reads this"))
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, errWriteReset) {
		t.Fatalf("Write outliving its deadline = %v, want os.ErrDeadlineExceeded and errWriteReset", err)
	}
	if resets.Load() != 1 {
		t.Errorf("reset called %d times, want 1", resets.Load())
	}
	c.SetWriteDeadline(time.Time{})
	if _, err := c.Write([]byte("x")); !errors.Is(err, errWriteReset) {
		t.Fatalf("Write after the reset = %v, want errWriteReset", err)
	}
}

// A write deadline that passes between writes fails later writes only,
// without resetting the stream, until it is moved.
func TestConnWriteDeadlineIdle(t *testing.T) {
	c, _, out, resets := pipeConn(t)
	c.SetWriteDeadline(time.Now().Add(-time.Second))
	if _, err := c.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write past the deadline = %v, want os.ErrDeadlineExceeded", err)
	}
	if resets.Load() != 0 {
		t.Fatalf("reset called %d times, want 0", resets.Load())
	}
	c.SetWriteDeadline(time.Time{})
	go c.Write([]byte("ok"))
	got := make([]byte, 2)
	if _, err := io.ReadFull(out, got); err != nil || string(got) != "ok" {
		t.Fatalf("peer read %q, %v after the deadline was lifted, want \"ok\"", got, err)
	}
}

// Close wakes a waiting Read, interrupts a blocked Write, ends the stream
// once the write has returned, and closes Done.
func TestConnClose(t *testing.T) {
	c, _, _, resets := pipeConn(t)
	rerr := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		rerr <- err
	}()
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write([]byte("blocked"))
		werr <- err
	}()
	time.Sleep(20 * time.Millisecond)
	select {
	case <-c.Done():
		t.Fatal("Done closed before Close")
	default:
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}
	if err := <-rerr; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read interrupted by Close = %v, want net.ErrClosed", err)
	}
	if err := <-werr; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write interrupted by Close = %v, want net.ErrClosed", err)
	}
	if resets.Load() != 1 {
		t.Errorf("reset called %d times, want 1 (for the blocked write)", resets.Load())
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done not closed after Close returned")
	}
	if err := c.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %v, want net.ErrClosed", err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close = %v, want net.ErrClosed", err)
	}
}

// TestConnCloseTwice checks that a second Close returns only once the
// first has ended the stream: a server handler that closes its Conn and
// returns while the request context's Close still resets the stream would
// use the ResponseWriter after net/http retired it (a data race that
// conformance's TestH2ChildClient hit under load).
func TestConnCloseTwice(t *testing.T) {
	c, _, _, _ := pipeConn(t)
	inReset, release := make(chan struct{}), make(chan struct{})
	reset := c.reset
	c.reset = func() {
		close(inReset)
		<-release
		reset()
	}
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write([]byte("blocked"))
		werr <- err
	}()
	// Close only once the write is in flight, so that it resets the stream.
	for {
		c.mu.Lock()
		writing := c.writing
		c.mu.Unlock()
		if writing {
			break
		}
		time.Sleep(time.Millisecond)
	}
	first := make(chan error, 1)
	go func() { first <- c.Close() }()
	<-inReset
	second := make(chan error, 1)
	go func() { second <- c.Close() }()
	select {
	case err := <-second:
		t.Fatalf("second Close returned (%v) while the first was still resetting the stream", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("first Close = %v, want nil", err)
	}
	if err := <-second; !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if err := <-werr; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write interrupted by Close = %v, want net.ErrClosed", err)
	}
}

func TestReadSettings(t *testing.T) {
	tests := []struct {
		name    string
		wire    string
		want    map[uint16]uint32
		wantErr bool
	}{
		{"empty", "\x00\x00\x00\x04\x00\x00\x00\x00\x00", map[uint16]uint32{}, false},
		{"enable connect protocol",
			// length 12, SETTINGS, no flags, stream 0;
			// MAX_CONCURRENT_STREAMS (0x3) = 250, ENABLE_CONNECT_PROTOCOL (0x8) = 1
			"\x00\x00\x0c\x04\x00\x00\x00\x00\x00" + "\x00\x03\x00\x00\x00\xfa" + "\x00\x08\x00\x00\x00\x01",
			map[uint16]uint32{3: 250, 8: 1}, false},
		{"an ACK first", "\x00\x00\x00\x04\x01\x00\x00\x00\x00", nil, true},
		{"not SETTINGS", "\x00\x00\x00\x06\x00\x00\x00\x00\x00", nil, true},
		{"length not a multiple of 6", "\x00\x00\x05\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", nil, true},
		{"cut short", "\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x08", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readSettings(strings.NewReader(tt.wire))
			if (err != nil) != tt.wantErr || len(got) != len(tt.want) {
				t.Fatalf("readSettings(%q) = %v, %v, want %v (error: %v)", tt.wire, got, err, tt.want, tt.wantErr)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("readSettings(%q) = %v, want %v", tt.wire, got, tt.want)
				}
			}
		})
	}
}

// TestAcceptEndedContext accepts a stream whose request context has
// already ended (the client reset it while the handler ran): the Conn
// closes itself at once, without a race on how it ends the stream.
func TestAcceptEndedContext(t *testing.T) {
	for range 50 {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := httptest.NewRequest(http.MethodConnect, "https://example.com/", http.NoBody).WithContext(ctx)
		r.ProtoMajor, r.ProtoMinor = 2, 0
		c, err := Accept(httptest.NewRecorder(), r)
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the Conn of an ended request did not close itself")
		}
		if err := c.Close(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Close after the context ended = %v, want ErrClosed", err)
		}
	}
}
