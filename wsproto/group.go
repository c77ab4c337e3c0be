package wsproto

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushwire/pushwire/wsproto/frame"
)

// GroupOptions configures a Group. The zero value, and nil, give the
// defaults documented on each field. NewGroup copies the struct.
type GroupOptions struct {
	// QueueLen bounds the messages waiting to be written to one
	// connection. A connection whose queue is full when Broadcast comes
	// is too slow for the group: its queued messages are dropped and it
	// is sent a close frame with SlowCloseCode and SlowCloseReason.
	// Default (0): 64.
	QueueLen int

	// WriteTimeout bounds the write of one message to one connection once
	// it had to wait for the peer. A connection whose write takes longer
	// is closed at once: its peer does not read, so a close frame could
	// not reach it either. Default (0): 10 s.
	WriteTimeout time.Duration

	// SlowCloseCode and SlowCloseReason are the close code and reason
	// sent to a connection that is too slow for the group, and the
	// CloseError that its reads then return. Default: 1008 (policy
	// violation, RFC 6455 §7.4.1) and "slow consumer".
	SlowCloseCode   frame.CloseCode
	SlowCloseReason string
}

// Group is a set of server connections that receive the same messages: the
// clients of a chat room, the subscribers of a feed (Node ws's
// WebSocketServer.clients with its broadcast loop). A connection joins when
// Accept upgrades it with AcceptOptions.Group set, and leaves when it is
// closed.
//
// Broadcast never waits for a connection. It writes a PreparedMessage's frame,
// encoded once and shared by every connection, to each connection that can
// take it without blocking; for a connection that cannot (its peer reads
// slower than the group publishes, or another message is being written to
// it), it queues a pointer to the message, at most QueueLen of them, and a
// goroutine writes the queue until it is empty and then exits. So no message
// is copied per connection, and over plain TCP no goroutine runs per
// connection per message as long as the peers keep up. Over TLS and HTTP/2,
// and with permessage-deflate with context takeover (which compresses per
// connection), a write cannot be tried without blocking: there every message
// goes through the queue, and a connection whose queue was empty gets a
// writing goroutine for it (one per connection per burst of messages).
//
// To a group of 1,024 connections or more, Broadcast writes from several
// goroutines at once: the calling one and min(GOMAXPROCS, connections ÷
// 512) − 1 helpers, which end before Broadcast returns. A write to a
// socket is a system call of a few microseconds, most of a broadcast's
// CPU, so a broadcast to thousands of connections otherwise uses one core.
// Nothing is allocated per Broadcast in steady state.
//
// A Group is safe for concurrent use. Each connection receives the messages
// in the order of the Broadcast calls, as long as the calls are not
// concurrent: Broadcast returns only once the message was written, queued
// or dropped for every connection. The filter runs on the calling
// goroutine, before any write and without a lock of the group's held, so
// it may call any method of the Conn or the Group.
type Group struct {
	opts     GroupOptions
	slowMsg  *PreparedMessage // the close frame for slow connections
	n        atomic.Int64     // len(members), read without mu
	mu       sync.Mutex       // guards members and closed; orders joins against Close
	members  []*member        // dense, in no order; a member knows its index
	closed   bool
	closeMsg *PreparedMessage       // the close frame Close sends
	spare    atomic.Pointer[fanout] // the last Broadcast's fanout, for the next
}

// NewGroup returns an empty group. opts may be nil.
func NewGroup(opts *GroupOptions) *Group {
	g := &Group{}
	if opts != nil {
		g.opts = *opts
	}
	o := &g.opts
	if o.QueueLen <= 0 {
		o.QueueLen = 64
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.SlowCloseCode == 0 {
		o.SlowCloseCode = frame.ClosePolicyViolation
		if o.SlowCloseReason == "" {
			o.SlowCloseReason = "slow consumer"
		}
	}
	payload, err := frame.AppendClosePayload(nil, o.SlowCloseCode, o.SlowCloseReason)
	if err != nil {
		// An invalid code or reason: close with the default instead of
		// failing every slow connection with no frame at all.
		o.SlowCloseCode, o.SlowCloseReason = frame.ClosePolicyViolation, "slow consumer"
		payload, _ = frame.AppendClosePayload(nil, o.SlowCloseCode, o.SlowCloseReason)
	}
	g.slowMsg = &PreparedMessage{typ: closeMessage, data: payload}
	return g
}

// closeMessage marks a PreparedMessage that holds a close frame's payload;
// only the Group makes them.
const closeMessage = MessageType(frame.OpClose)

// Len returns the number of connections in the group.
func (g *Group) Len() int { return int(g.n.Load()) }

// Broadcast sends pm to every connection of the group for which filter
// returns true, or to all of them when filter is nil, and returns how many
// connections it was written or queued to. It does not wait for any
// connection (see Group). A connection that is too slow is closed with the
// group's SlowCloseCode; a connection that is closing, or that a failed write
// closes, is skipped. After Close, Broadcast sends nothing.
//
// To send to everyone but the sender, as a chat does:
//
//	g.Broadcast(pm, func(c *wsproto.Conn) bool { return c != sender })
func (g *Group) Broadcast(pm *PreparedMessage, filter func(*Conn) bool) int {
	f := g.snapshot(filter)
	n := f.send(pm)
	f.release()
	return n
}

// Close starts the closing handshake (RFC 6455 §7.1.2) with code and
// reason on every connection of the group, after the messages already
// queued for it, and waits until each one is closed, for at most its
// close timeout (AcceptOptions.CloseTimeout); then it closes the rest at
// once. The connections' reading goroutines receive the peers' close
// frames, which completes the handshakes; a connection nobody reads is
// closed when the time is up. Accept refuses connections that would join
// the group from the moment Close is called, with 503 Service Unavailable.
//
// Close returns an error if code and reason cannot be sent (see
// Conn.Close), if the group was closed already, or if some connections had
// to be closed without a complete handshake.
func (g *Group) Close(code frame.CloseCode, reason string) error {
	payload, err := frame.AppendClosePayload(nil, code, reason)
	if err != nil {
		return err
	}
	pm := &PreparedMessage{typ: closeMessage, data: payload}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errGroupClosed
	}
	g.closed = true
	g.closeMsg = pm
	ms := slices.Clone(g.members)
	g.mu.Unlock()
	var timeout time.Duration
	for _, m := range ms {
		m.send(pm)
		timeout = max(timeout, m.c.closeTimeout)
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	expired := false
	forced := 0
	for _, m := range ms {
		c := m.c
		if !expired {
			select {
			case <-c.closedChan():
				// The close hooks, m.leave among them, run just after
				// c.closedChan() is closed: leave now so that Len is 0 when
				// Close returns.
				m.leave()
				continue
			case <-deadline.C:
				expired = true
			}
		}
		if !c.isClosed() {
			c.end(fmt.Errorf("wsproto: no close frame from the peer within %v: %w", timeout, errConnClosed), closeNow)
			forced++
		}
		m.leave()
	}
	if forced > 0 {
		return fmt.Errorf("wsproto: %d of %d connections did not complete the closing handshake within %v and were closed at once", forced, len(ms), timeout)
	}
	return nil
}

var errGroupClosed = fmt.Errorf("wsproto: group already closed: %w", errConnClosed)

// refuses reports whether the group refuses new connections: Close was
// called.
func (g *Group) refuses() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

// join adds c, a server connection that Accept just made, to the group, and
// makes it leave when it closes. If Close came first, c is closed with the
// group's close frame instead.
func (g *Group) join(c *Conn) {
	m := &member{c: c, g: g}
	m.hasRaw = m.raw.init(c.nc)
	g.mu.Lock()
	if g.closed {
		pm := g.closeMsg
		g.mu.Unlock()
		m.left = true // never joined
		m.send(pm)
		m.closeSoon()
		return
	}
	c.member = m
	m.idx = len(g.members)
	g.members = append(g.members, m)
	g.n.Add(1)
	g.mu.Unlock()
	c.onClose(m.leave)
}

// member is a connection's place in a group: its send queue and the state
// of its writes.
type member struct {
	// What Broadcast reads for every member comes first, in the first
	// two cache lines of the allocation: the lock, the state, the
	// connection and the raw writer.
	mu      sync.Mutex
	busy    bool      // the writing goroutine runs
	closing bool      // a close frame is queued or sent: nothing more is
	dead    bool      // the connection closed
	hasRaw  bool      // raw works: the connection is a TCP or Unix socket
	left    bool      // removed from the group
	n       int       // messages in the queue
	c       *Conn     // the member
	raw     rawWriter // writes that never block, where hasRaw

	g      *Group
	idx    int                // index in g.members while not left; guarded by g.mu
	q      []*PreparedMessage // ring of QueueLen+1 (room for a close frame), made on first use
	head   int                // the first message of the ring
	cur    *PreparedMessage   // the message being written by the goroutine
	off    int                // bytes of cur's frame already written by Broadcast; the goroutine then holds the write locks
	dog    *time.Timer        // the WriteTimeout of the goroutine's writes
	queued atomic.Int64       // payload bytes queued or being written
}

// send writes pm to the connection at once if it can do so without
// blocking, or queues it. It reports whether pm was taken.
func (m *member) send(pm *PreparedMessage) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead || m.closing {
		return false
	}
	if pm.typ == closeMessage {
		m.closing = true
	}
	if !m.busy && m.n == 0 {
		switch m.tryWrite(pm) {
		case taken:
			return true
		case skipped:
			return false
		}
	}
	if pm.typ != closeMessage && m.n >= m.g.opts.QueueLen {
		m.tooSlow()
		return false
	}
	m.push(pm)
	if !m.busy {
		m.busy = true
		go m.run()
	}
	return true
}

// The results of tryWrite.
const (
	notTaken = iota // pm must be queued
	taken           // pm is written, or its writing goroutine started
	skipped         // the connection is closing: pm is dropped
)

// tryWrite writes pm's frame if that can be done without blocking: the
// connection's write locks are free and the socket takes the whole frame.
// If the socket takes part of it, the rest is left to the goroutine, which
// inherits the locks. m.mu is held.
func (m *member) tryWrite(pm *PreparedMessage) int {
	if !m.hasRaw {
		return notTaken
	}
	c := m.c
	var b []byte
	if pm.typ == closeMessage {
		b = pm.serverFrame()
	} else if b = c.preparedFrame(pm); b == nil {
		return notTaken
	}
	if !c.wmsg.tryLock() {
		return notTaken
	}
	if !c.wframe.tryLock() {
		unlock(&c.wmsg)
		return notTaken
	}
	if c.sentClose.Load() || c.isClosed() {
		unlock(&c.wframe)
		unlock(&c.wmsg)
		m.closing = true
		return skipped
	}
	if pm.typ == closeMessage {
		// RFC 6455 §5.5.1: nothing is sent after the close frame.
		c.sentClose.Store(true)
		c.state.Store(int32(StateClosing))
	}
	n := m.raw.write(b)
	switch {
	case n == len(b):
		unlock(&c.wframe)
		unlock(&c.wmsg)
		return taken
	case n > 0:
		m.cur, m.off = pm, n
		m.queued.Add(pm.size())
		m.busy = true
		go m.run()
		return taken
	}
	if pm.typ == closeMessage {
		c.sentClose.Store(false) // not sent after all; the goroutine sends it
	}
	unlock(&c.wframe)
	unlock(&c.wmsg)
	return notTaken
}

// push appends pm to the queue. m.mu is held.
func (m *member) push(pm *PreparedMessage) {
	if m.q == nil {
		m.q = make([]*PreparedMessage, m.g.opts.QueueLen+1)
	}
	m.q[(m.head+m.n)%len(m.q)] = pm
	m.n++
	m.queued.Add(pm.size())
}

// drop empties the queue. m.mu is held.
func (m *member) drop() {
	for ; m.n > 0; m.n-- {
		m.queued.Add(-m.q[m.head].size())
		m.q[m.head] = nil
		m.head = (m.head + 1) % len(m.q)
	}
	m.head = 0
}

// tooSlow applies the slow-consumer policy to a connection whose queue is
// full: the queue is dropped, the connection's reads end with the
// SlowCloseCode, and its close frame is queued behind the message being
// written. m.mu is held.
func (m *member) tooSlow() {
	o := &m.g.opts
	m.c.setErr(fmt.Errorf("wsproto: send queue of %d messages overflowed: %w", o.QueueLen, frame.CloseError{Code: o.SlowCloseCode, Reason: o.SlowCloseReason}))
	m.drop()
	m.closing = true
	m.push(m.g.slowMsg)
	m.detach()
	m.closeSoon()
}

// run is the goroutine that writes the queue of a connection that could
// not take a message at once. It exits when the queue is empty.
func (m *member) run() {
	c := m.c
	for {
		m.mu.Lock()
		pm, off := m.cur, m.off
		if pm == nil {
			if m.n == 0 || m.dead {
				m.drop()
				m.busy = false
				m.mu.Unlock()
				return
			}
			pm = m.q[m.head]
			m.q[m.head] = nil
			m.head = (m.head + 1) % len(m.q)
			m.n--
			m.cur = pm
		}
		if m.dog == nil {
			m.dog = time.AfterFunc(m.g.opts.WriteTimeout, m.timedOut)
		} else {
			m.dog.Reset(m.g.opts.WriteTimeout)
		}
		m.mu.Unlock()

		var err error
		switch {
		case off > 0:
			err = m.finish(pm.serverFrameOrCompressed(c)[off:], off)
		case pm.typ == closeMessage:
			if err = c.writeControl(context.Background(), frame.OpClose, pm.data); err == nil {
				c.state.Store(int32(StateClosing))
			}
		default:
			err = c.WritePrepared(context.Background(), pm)
		}

		m.mu.Lock()
		m.dog.Stop()
		m.cur, m.off = nil, 0
		m.queued.Add(-pm.size())
		if err != nil {
			m.dead = true
		}
		m.mu.Unlock()
	}
}

// size is what pm counts in BufferedAmount: its payload, or nothing for a
// close frame.
func (pm *PreparedMessage) size() int64 {
	if pm.typ == closeMessage {
		return 0
	}
	return int64(len(pm.data))
}

// serverFrameOrCompressed returns the frame tryWrite sent for pm on c.
func (pm *PreparedMessage) serverFrameOrCompressed(c *Conn) []byte {
	if pm.typ == closeMessage {
		return pm.serverFrame()
	}
	return c.preparedFrame(pm)
}

// finish writes the rest of a frame that tryWrite started, with the write
// locks tryWrite took, and releases them.
func (m *member) finish(rest []byte, written int) error {
	c := m.c
	defer unlock(&c.wmsg)
	defer unlock(&c.wframe)
	ctx := context.Background()
	if err := c.wwatch.arm(ctx); err != nil {
		return err
	}
	n, err := c.nc.Write(rest)
	if err != nil {
		return c.writeFailed(ctx, err, int64(written+n))
	}
	return nil
}

// timedOut closes a connection whose write took longer than WriteTimeout.
func (m *member) timedOut() {
	o := &m.g.opts
	c := m.c
	c.end(fmt.Errorf("wsproto: a write took longer than %v: %w", o.WriteTimeout, frame.CloseError{Code: o.SlowCloseCode, Reason: o.SlowCloseReason}), closeNow)
}

// closeSoon bounds the closing handshake of a slow connection, or of one
// that came after Close: if it is not closed within the close timeout
// (the message in flight, the close frame and the peer's answer), it is
// closed then. Close bounds the handshakes it starts itself.
func (m *member) closeSoon() {
	c := m.c
	time.AfterFunc(c.closeTimeout, func() {
		if !c.isClosed() {
			c.end(errConnClosed, closeNow)
		}
	})
}

// leave removes a closed connection from the group.
func (m *member) leave() {
	m.mu.Lock()
	m.dead = true
	if !m.busy && m.q != nil {
		m.drop()
	}
	m.detach()
	m.mu.Unlock()
}

// detach removes m from the group, once. m.mu is held.
func (m *member) detach() {
	if !m.left {
		m.left = true
		g := m.g
		g.mu.Lock()
		last := len(g.members) - 1
		moved := g.members[last]
		g.members[m.idx] = moved
		moved.idx = m.idx
		g.members[last] = nil
		g.members = g.members[:last]
		if cap(g.members) > 1024 && last < cap(g.members)/4 {
			// Most members left: give the memory back.
			g.members = slices.Clone(g.members)
		}
		g.n.Add(-1)
		g.mu.Unlock()
	}
}

// BufferedAmount returns the number of payload bytes that Broadcast queued
// for c and that are not yet written: the figure of the browser's
// WebSocket.bufferedAmount, and the back-pressure signal of a Group. A
// connection not in a group has none: Write and WritePrepared return only
// once their message is handed to the operating system, so a slow peer
// makes them wait instead.
func (c *Conn) BufferedAmount() int {
	if c.member == nil {
		return 0
	}
	return int(c.member.queued.Load())
}
