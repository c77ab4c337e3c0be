package wsproto

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushwire/pushwire/wsproto/frame"
)

// spreadMembers is the group size of the spread tests: enough for
// Broadcast to start helper goroutines (spreadMin) with 2 Ps.
const spreadMembers = spreadMin + 76

// spreadClient is a client of a spread test: it reads numbered messages
// and checks that they come in order, without gaps.
type spreadClient struct {
	c      *Conn
	server *Conn
	next   atomic.Uint32 // the number of the next message expected
	err    atomic.Value  // string: the first order violation, if any
	done   chan error    // the read error that ended the client
}

// readLoop reads until the connection fails, checking the order. A client
// that joins during the broadcasts starts with next = ^0: its first
// message may have any number, and from there on they must follow in
// order.
func (sc *spreadClient) readLoop() {
	var buf []byte
	for {
		_, msg, err := sc.c.Read(context.Background(), buf)
		if err != nil {
			sc.done <- err
			return
		}
		buf = msg
		if len(msg) < 4 {
			sc.err.CompareAndSwap(nil, fmt.Sprintf("message of %d bytes", len(msg)))
			continue
		}
		got := binary.BigEndian.Uint32(msg)
		if want := sc.next.Load(); want != ^uint32(0) && got != want {
			sc.err.CompareAndSwap(nil, fmt.Sprintf("message %d where %d was due", got, want))
		}
		sc.next.Store(got + 1)
	}
}

// spreadGroup starts a group server with n members, each with a reading
// client, and GOMAXPROCS of at least 2 so that Broadcast spreads.
func spreadGroup(t *testing.T, n int, opts *GroupOptions) (*Group, *groupServer, []*spreadClient) {
	t.Helper()
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	g := NewGroup(opts)
	gs := newGroupServer(t, &AcceptOptions{Group: g}, false)
	scs := make([]*spreadClient, n)
	for i := range scs {
		c, s := gs.dial(t, nil)
		scs[i] = &spreadClient{c: c, server: s, done: make(chan error, 1)}
		go scs[i].readLoop()
	}
	waitLen(t, g, n)
	return g, gs, scs
}

// numbered returns a 1 KiB binary message that starts with i.
func numbered(i uint32) *PreparedMessage {
	b := make([]byte, 1<<10)
	binary.BigEndian.PutUint32(b, i)
	pm, _ := NewPreparedMessage(MessageBinary, b)
	return pm
}

// waitRead waits until every client in scs has read the messages before
// number want, and fails on any message out of order.
func waitRead(t *testing.T, scs []*spreadClient, want uint32) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for i, sc := range scs {
		for sc.next.Load() < want {
			if time.Now().After(deadline) {
				t.Fatalf("client %d read %d messages in 30 s, want %d", i, sc.next.Load(), want)
			}
			time.Sleep(time.Millisecond)
		}
		if e := sc.err.Load(); e != nil {
			t.Fatalf("client %d: %s", i, e)
		}
	}
}

// TestGroupSpreadOrder: a group large enough for Broadcast to spread its
// writes over goroutines delivers consecutive broadcasts to every member
// in order, each exactly once, and the count Broadcast returns is every
// member.
func TestGroupSpreadOrder(t *testing.T) {
	g, _, scs := spreadGroup(t, spreadMembers, nil)
	if h := spreadHelpers(g.Len()); h < 1 {
		t.Fatalf("spreadHelpers(%d) = %d with GOMAXPROCS %d, want a helper", g.Len(), h, runtime.GOMAXPROCS(0))
	}
	const msgs = 40
	for i := range uint32(msgs) {
		if got := g.Broadcast(numbered(i), nil); got != spreadMembers {
			t.Fatalf("Broadcast %d reached %d members, want %d", i, got, spreadMembers)
		}
	}
	waitRead(t, scs, msgs)
	// A filter that leaves out every other member: only the others get
	// message msgs.
	chosen := map[*Conn]bool{}
	for i := 1; i < len(scs); i += 2 {
		chosen[scs[i].server] = true
	}
	odd := func(c *Conn) bool { return chosen[c] }
	want := len(chosen)
	if got := g.Broadcast(numbered(msgs), odd); got != want {
		t.Fatalf("filtered Broadcast reached %d members, want %d", got, want)
	}
	var with []*spreadClient
	for _, sc := range scs {
		if odd(sc.server) {
			with = append(with, sc)
		}
	}
	waitRead(t, with, msgs+1)
	for i, sc := range scs {
		if n := sc.next.Load(); !odd(sc.server) && n != msgs {
			t.Errorf("client %d, left out by the filter, read %d messages, want %d", i, n, msgs)
		}
	}
}

// TestGroupSpreadFailures: members that fail during a spread broadcast, a
// connection closed by the filter as Broadcast runs, and peers that are
// gone (their writes fail), are skipped or leave the group, without
// holding up the others, which receive every message in order.
func TestGroupSpreadFailures(t *testing.T) {
	g, _, scs := spreadGroup(t, spreadMembers, &GroupOptions{WriteTimeout: 5 * time.Second})
	// Every tenth client's peer goes away: its server connection's writes
	// fail (EPIPE or ECONNRESET), or its reader sees the end first.
	gone := map[*Conn]bool{}
	for i := 0; i < len(scs); i += 10 {
		gone[scs[i].server] = true
		scs[i].c.CloseNow()
	}
	// Every tenth client, shifted by 5, is closed by the filter during
	// the broadcast: it is closed before its write, which skips it.
	closedByFilter := map[*Conn]bool{}
	for i := 5; i < len(scs); i += 10 {
		closedByFilter[scs[i].server] = true
	}
	filter := func(c *Conn) bool {
		if closedByFilter[c] {
			c.CloseNow()
		}
		return true
	}
	var live []*spreadClient
	for _, sc := range scs {
		if !gone[sc.server] && !closedByFilter[sc.server] {
			live = append(live, sc)
		}
	}
	const msgs = 30
	for i := range uint32(msgs) {
		f := filter
		if i > 0 {
			f = nil
		}
		got := g.Broadcast(numbered(i), f)
		if got < len(live) || got > spreadMembers {
			t.Fatalf("Broadcast %d reached %d members, want between the %d live ones and %d", i, got, len(live), spreadMembers)
		}
		if i == 0 && got > spreadMembers-len(closedByFilter) {
			t.Fatalf("Broadcast reached %d members, want none of the %d the filter closed", got, len(closedByFilter))
		}
	}
	waitRead(t, live, msgs)
	waitLen(t, g, len(live))
	for _, sc := range live {
		if sc.server.State() != StateOpen {
			t.Fatalf("a live member is %v, want OPEN", sc.server.State())
		}
	}
}

// TestGroupSpreadConcurrent: connections join, close and leave, and the
// group is closed, while spread broadcasts run, under the race detector:
// the members present throughout get every message in order, Close
// completes every handshake, and the group ends empty.
func TestGroupSpreadConcurrent(t *testing.T) {
	g, gs, scs := spreadGroup(t, spreadMembers, nil)
	stable, churn := scs[:spreadMembers-200], scs[spreadMembers-200:]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	// Joins: new clients while the broadcasts run; they read whatever
	// part of the stream they get, which must be in order from where it
	// starts.
	joined := make(chan *spreadClient, 100)
	wg.Go(func() {
		defer close(joined)
		for i := 0; i < 100 && ctx.Err() == nil; i++ {
			dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
			c, _, err := Dial(dctx, gs.url, nil)
			dcancel()
			if err != nil {
				t.Errorf("Dial during the broadcasts: %v", err)
				return
			}
			t.Cleanup(func() { c.CloseNow() })
			s := <-gs.conns
			sc := &spreadClient{c: c, server: s, done: make(chan error, 1)}
			sc.next.Store(^uint32(0)) // set by the first message
			go sc.readLoop()
			joined <- sc
		}
	})
	// Leaves: the churn clients close from both ends.
	wg.Go(func() {
		for i, sc := range churn {
			if i%2 == 0 {
				sc.c.CloseNow()
			} else {
				sc.server.CloseNow()
			}
			time.Sleep(100 * time.Microsecond)
		}
	})
	const msgs = 60
	var sent atomic.Uint32
	wg.Go(func() {
		for i := range uint32(msgs) {
			g.Broadcast(numbered(i), nil)
			sent.Store(i + 1)
		}
	})
	wg.Wait()
	waitRead(t, stable, msgs)
	var late []*spreadClient
	for sc := range joined {
		late = append(late, sc)
		if e := sc.err.Load(); e != nil {
			t.Errorf("a client that joined during the broadcasts: %s", e)
		}
	}
	waitLen(t, g, len(stable)+len(late))
	// Close while a broadcast runs: the broadcast's messages come before
	// the close frame or not at all, and every handshake completes.
	closed := make(chan error, 1)
	go func() {
		g.Broadcast(numbered(msgs), nil)
		closed <- nil
	}()
	if err := g.Close(frame.CloseGoingAway, "bye"); err != nil {
		t.Errorf("Close during a broadcast: %v", err)
	}
	<-closed
	if g.Len() != 0 {
		t.Errorf("Len() after Close = %d, want 0", g.Len())
	}
	for i, sc := range append(stable, late...) {
		select {
		case err := <-sc.done:
			var ce frame.CloseError
			if !errors.As(err, &ce) || ce.Code != frame.CloseGoingAway {
				t.Errorf("client %d ended with %v, want the close frame 1001", i, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("client %d did not get the close frame", i)
		}
		if e := sc.err.Load(); e != nil {
			t.Errorf("client %d: %s", i, e)
		}
	}
	if g.Broadcast(numbered(msgs+1), nil) != 0 {
		t.Error("Broadcast after Close reached a connection")
	}
}
