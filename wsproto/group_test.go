package wsproto

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// groupServer serves connections that join g and read until they fail;
// each server-side read error is sent on errs.
type groupServer struct {
	srv   *httptest.Server
	url   string
	conns chan *Conn
	errs  chan error
}

func newGroupServer(t testing.TB, opts *AcceptOptions, tlsServer bool) *groupServer {
	t.Helper()
	gs := &groupServer{conns: make(chan *Conn, 4096), errs: make(chan error, 4096)}
	h := Handler(opts, func(c *Conn, _ *http.Request) {
		gs.conns <- c
		var buf []byte
		for {
			_, msg, err := c.Read(context.Background(), buf)
			if err != nil {
				gs.errs <- err
				return
			}
			buf = msg
		}
	})
	if tlsServer {
		gs.srv = httptest.NewTLSServer(h)
		gs.url = "wss" + strings.TrimPrefix(gs.srv.URL, "https")
	} else {
		gs.srv = httptest.NewServer(h)
		gs.url = "ws" + strings.TrimPrefix(gs.srv.URL, "http")
	}
	t.Cleanup(gs.srv.Close)
	return gs
}

func (gs *groupServer) dial(t testing.TB, opts *DialOptions) (client, server *Conn) {
	t.Helper()
	if strings.HasPrefix(gs.url, "wss") {
		o := DialOptions{}
		if opts != nil {
			o = *opts
		}
		o.TLSConfig = &tls.Config{InsecureSkipVerify: true}
		opts = &o
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := Dial(ctx, gs.url, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c, <-gs.conns
}

// waitLen waits until g holds n connections.
func waitLen(t *testing.T, g *Group, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); g.Len() != n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("group holds %d connections, want %d", g.Len(), n)
		}
	}
}

// TestGroupBroadcast: connections join on accept, every one receives each
// broadcast, the filter leaves out the sender, and a closed connection
// leaves the group.
func TestGroupBroadcast(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tls      bool
		compress *CompressionOptions
	}{
		{"tcp", false, nil},
		{"tls", true, nil}, // no raw writes: every message via the queue
		{"deflate-no-context", false, &CompressionOptions{ServerNoContextTakeover: true}}, // one compressed frame for all
		{"deflate-context", false, &CompressionOptions{}},                                 // each connection compresses
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGroup(nil)
			gs := newGroupServer(t, &AcceptOptions{Group: g, Compression: tc.compress}, tc.tls)
			const n = 8
			clients := make([]*Conn, n)
			servers := make([]*Conn, n)
			for i := range clients {
				clients[i], servers[i] = gs.dial(t, &DialOptions{Compression: tc.compress})
			}
			if g.Len() != n {
				t.Fatalf("Len() = %d after %d accepts, want %d", g.Len(), n, n)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			big := bytes.Repeat([]byte("all of you "), 1000)
			msgs := [][]byte{[]byte("one"), big, []byte("three")}
			for _, m := range msgs {
				pm, _ := NewPreparedMessage(MessageText, m)
				if got := g.Broadcast(pm, nil); got != n {
					t.Fatalf("Broadcast reached %d connections, want %d", got, n)
				}
			}
			sender := servers[0]
			pm, _ := NewPreparedMessage(MessageBinary, []byte("not to the sender"))
			if got := g.Broadcast(pm, func(c *Conn) bool { return c != sender }); got != n-1 {
				t.Fatalf("filtered Broadcast reached %d connections, want %d", got, n-1)
			}
			msgs = append(msgs, []byte("not to the sender"))
			for i, c := range clients {
				want := msgs
				if i == 0 {
					want = msgs[:len(msgs)-1]
				}
				for j, w := range want {
					typ, got, err := c.Read(ctx, nil)
					if err != nil || !bytes.Equal(got, w) || (j == 3) != (typ == MessageBinary) {
						t.Fatalf("client %d message %d = %v %.20q %v, want %.20q", i, j, typ, got, err, w)
					}
				}
			}
			// The figure drops to 0 once the writes are done (a client may
			// read a message before the server's write call returns).
			for _, s := range servers {
				for deadline := time.Now().Add(10 * time.Second); s.BufferedAmount() != 0; time.Sleep(time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("BufferedAmount after delivery = %d, want 0", s.BufferedAmount())
					}
				}
			}
			clients[1].Close(frame.CloseNormal, "")
			waitLen(t, g, n-1)
			servers[2].CloseNow()
			waitLen(t, g, n-2)
		})
	}
}

// memberRuns counts the goroutines that write a member's queue.
func memberRuns() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "wsproto.(*member).run(")
}

// TestGroupBroadcastInline: to peers that keep up, over TCP, Broadcast
// writes from the calling goroutine: no goroutine is started for any
// connection, and a broadcast allocates the same small amount whatever the
// number of connections.
func TestGroupBroadcastInline(t *testing.T) {
	g := NewGroup(nil)
	gs := newGroupServer(t, &AcceptOptions{Group: g}, false)
	const n = 20
	var wg sync.WaitGroup
	defer wg.Wait()
	counts := make([]int, n)
	for i := range n {
		c, _ := gs.dial(t, nil)
		wg.Go(func() {
			var buf []byte
			for {
				_, msg, err := c.Read(context.Background(), buf)
				if err != nil {
					return
				}
				counts[i]++
				buf = msg
			}
		})
		defer c.CloseNow()
	}
	pm, _ := NewPreparedMessage(MessageBinary, []byte("sixteen bytes..."))
	g.Broadcast(pm, nil) // encodes the frame once
	if r := memberRuns(); r != 0 {
		t.Fatalf("%d queue goroutines after one broadcast to idle peers, want 0", r)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if got := g.Broadcast(pm, nil); got != n {
			t.Fatalf("Broadcast reached %d, want %d", got, n)
		}
	})
	if allocs > 2 {
		t.Errorf("Broadcast to %d connections allocates %.1f times, want at most 2 (none per connection)", n, allocs)
	}
	if r := memberRuns(); r != 0 {
		t.Errorf("%d queue goroutines after 101 broadcasts to peers that keep up, want 0", r)
	}
}

// TestGroupSlowConsumer: a client that stops reading fills its send
// buffer, then its queue; the next broadcast closes it with the slow code,
// after the message being written, and the others go on receiving.
func TestGroupSlowConsumer(t *testing.T) {
	g := NewGroup(&GroupOptions{QueueLen: 4, WriteTimeout: time.Minute, SlowCloseCode: 4000, SlowCloseReason: "too slow"})
	gs := newGroupServer(t, &AcceptOptions{Group: g}, false)
	slow, slowServer := gs.dial(t, nil)
	fast, _ := gs.dial(t, nil)
	// The fast client reports each message, and the loop waits for it
	// before the next broadcast, so that however loaded the machine, only
	// the slow client falls behind.
	fastRead := make(chan struct{}, 1)
	fastGot := make(chan int, 1)
	go func() {
		n := 0
		var buf []byte
		for {
			_, msg, err := fast.Read(context.Background(), buf)
			if err != nil {
				fastGot <- n
				return
			}
			n++
			buf = msg
			fastRead <- struct{}{}
		}
	}()
	pm, _ := NewPreparedMessage(MessageBinary, make([]byte, 256<<10))
	sent := 0
	sawBuffered := 0
	for deadline := time.Now().Add(20 * time.Second); ; sent++ {
		if time.Now().After(deadline) {
			t.Fatal("the slow client was not dropped within 20 s")
		}
		reached := g.Broadcast(pm, nil)
		select {
		case <-fastRead:
		case <-time.After(20 * time.Second):
			t.Fatalf("the fast client did not read message %d", sent+1)
		}
		if reached < 2 {
			break
		}
		sawBuffered = max(sawBuffered, slowServer.BufferedAmount())
	}
	if sawBuffered < 4*len(pm.data) {
		t.Errorf("largest BufferedAmount of the slow connection = %d, want at least the queue's %d", sawBuffered, 4*len(pm.data))
	}
	// The slow connection left the group at once.
	if g.Len() != 1 {
		t.Errorf("Len() after the drop = %d, want 1", g.Len())
	}
	if b := slowServer.BufferedAmount(); b > len(pm.data) {
		t.Errorf("BufferedAmount after the drop = %d, want at most the message in flight (%d)", b, len(pm.data))
	}
	// The slow client, reading at last, gets what was in flight and then
	// the close frame.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := 0
	var err error
	for {
		if _, _, err = slow.Read(ctx, nil); err != nil {
			break
		}
		got++
	}
	var ce frame.CloseError
	if !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "too slow" {
		t.Errorf("slow client read error = %v, want CloseError 4000 too slow", err)
	}
	if got >= sent {
		t.Errorf("slow client read %d of %d messages, want fewer", got, sent)
	}
	// The server's reads of the slow connection end with the slow code.
	if err := <-gs.errs; !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "too slow" {
		t.Errorf("server read error = %v, want CloseError 4000 too slow", err)
	}
	if b := slowServer.BufferedAmount(); b != 0 {
		t.Errorf("BufferedAmount after the close = %d, want 0", b)
	}
	g.Close(frame.CloseGoingAway, "")
	// The fast client got every message, the last one included.
	if n := <-fastGot; n != sent+1 {
		t.Errorf("fast client read %d messages, want all %d", n, sent+1)
	}
	t.Logf("sent %d messages of 256 KiB; the slow client read %d before the close", sent, got)
}

// TestGroupWriteTimeout: a write that the peer does not take within
// WriteTimeout closes the connection at once.
func TestGroupWriteTimeout(t *testing.T) {
	g := NewGroup(&GroupOptions{QueueLen: 1000, WriteTimeout: 50 * time.Millisecond})
	gs := newGroupServer(t, &AcceptOptions{Group: g}, false)
	gs.dial(t, nil) // never reads
	pm, _ := NewPreparedMessage(MessageBinary, make([]byte, 1<<20))
	for deadline := time.Now().Add(20 * time.Second); g.Len() > 0; {
		if time.Now().After(deadline) {
			t.Fatal("the stuck connection was not closed within 20 s")
		}
		g.Broadcast(pm, nil)
		time.Sleep(10 * time.Millisecond)
	}
	var ce frame.CloseError
	if err := <-gs.errs; !errors.As(err, &ce) || ce.Code != frame.ClosePolicyViolation || !strings.Contains(err.Error(), "took longer than 50ms") {
		t.Errorf("server read error = %v, want CloseError 1008 after a write timeout", err)
	}
}

// TestGroupClose: Close sends every connection the close frame, completes
// the handshakes, empties the group and refuses new connections with 503.
func TestGroupClose(t *testing.T) {
	g := NewGroup(nil)
	gs := newGroupServer(t, &AcceptOptions{Group: g}, false)
	const n = 5
	clientErrs := make(chan error, n)
	clientGot := make(chan string, n)
	for range n {
		c, _ := gs.dial(t, nil)
		go func() {
			_, msg, err := c.Read(context.Background(), nil)
			clientGot <- string(msg)
			if err == nil {
				_, _, err = c.Read(context.Background(), nil)
			}
			clientErrs <- err
		}()
	}
	pm, _ := NewPreparedMessage(MessageText, []byte("last words"))
	g.Broadcast(pm, nil)
	start := time.Now()
	if err := g.Close(frame.CloseGoingAway, "restarting"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	t.Logf("Close took %v", time.Since(start))
	if g.Len() != 0 {
		t.Errorf("Len() after Close = %d, want 0", g.Len())
	}
	for range n {
		var ce frame.CloseError
		if msg, err := <-clientGot, <-clientErrs; msg != "last words" || !errors.As(err, &ce) || ce.Code != frame.CloseGoingAway || ce.Reason != "restarting" {
			t.Errorf("client read %q, then %v; want last words, then CloseError 1001 restarting", msg, err)
		}
	}
	for range n {
		var ce frame.CloseError
		if err := <-gs.errs; !errors.As(err, &ce) || ce.Code != frame.CloseGoingAway {
			t.Errorf("server read error = %v, want the client's echo of 1001", err)
		}
	}
	if g.Broadcast(pm, nil) != 0 {
		t.Error("Broadcast after Close reached a connection")
	}
	if err := g.Close(frame.CloseNormal, ""); err == nil {
		t.Error("a second Close returned nil")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, resp, err := Dial(ctx, gs.url, nil)
	var re *handshake.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("Dial after Close = %v, want a 503 refusal", err)
	}
	_ = resp
}

// TestGroupCloseUnread: a connection that nobody reads cannot complete its
// handshake; Close closes it once its close timeout has passed.
func TestGroupCloseUnread(t *testing.T) {
	g := NewGroup(nil)
	conns := make(chan *Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, &AcceptOptions{Group: g, CloseTimeout: 100 * time.Millisecond})
		if err == nil {
			conns <- c
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, _, err := Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseNow()
	server := <-conns
	err = g.Close(frame.CloseNormal, "")
	if err == nil || !strings.Contains(err.Error(), "1 of 1 connections") {
		t.Errorf("Close = %v, want an error naming the connection closed at once", err)
	}
	if server.State() != StateClosed || g.Len() != 0 {
		t.Errorf("after Close: state %v, Len %d; want CLOSED, 0", server.State(), g.Len())
	}
	// The client did get the close frame.
	var ce frame.CloseError
	if _, _, err := client.Read(ctx, nil); !errors.As(err, &ce) || ce.Code != frame.CloseNormal {
		t.Errorf("client read = %v, want the close frame 1000", err)
	}
}

// TestHandlerRequest: Handler hands serve the handshake request with the
// values middleware put in its context, and that context ends when the
// connection closes.
func TestHandlerRequest(t *testing.T) {
	type key struct{}
	got := make(chan string, 1)
	done := make(chan error, 1)
	derived := make(chan error, 1)
	h := Handler(nil, func(c *Conn, r *http.Request) {
		got <- fmt.Sprint(r.URL.Query().Get("room"), " ", r.Context().Value(key{}))
		// Contexts derived from the request's end with the connection,
		// without a goroutine each.
		before := runtime.NumGoroutine()
		var cancels []context.CancelFunc
		var last context.Context
		for range 100 {
			ctx, cancel := context.WithCancel(r.Context())
			cancels = append(cancels, cancel)
			last = ctx
		}
		if n := runtime.NumGoroutine() - before; n > 10 {
			t.Errorf("100 contexts derived from the request's started %d goroutines", n)
		}
		for _, cancel := range cancels[:99] {
			cancel()
		}
		afterFunc := make(chan struct{})
		context.AfterFunc(r.Context(), func() { close(afterFunc) })
		c.Read(context.Background(), nil) // until the client goes
		<-r.Context().Done()
		<-last.Done()
		<-afterFunc
		derived <- last.Err()
		cancels[99]()
		done <- r.Context().Err()
	})
	auth := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), key{}, "alice")))
	})
	srv := httptest.NewServer(auth)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/?room=lobby", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "lobby alice" {
		t.Errorf("serve saw %q, want the query and the middleware's value: lobby alice", s)
	}
	c.Close(frame.CloseNormal, "")
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("request context error = %v, want context.Canceled", err)
		}
		if err := <-derived; !errors.Is(err, context.Canceled) {
			t.Errorf("derived context error = %v, want context.Canceled", err)
		}
	case <-ctx.Done():
		t.Fatal("the request's context was not done after the connection closed")
	}
}
