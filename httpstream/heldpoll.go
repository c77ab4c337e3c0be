package httpstream

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushwire/pushwire/hub"
)

// A heldPoll is a long poll that waits for the log over HTTP/1.x: its
// connection is taken from net/http (see hijack.go), and nothing runs for
// it while it waits. A notification of its subscription (hub.Notifier),
// its timeout (expiry.go), the client going away (netpoll) or
// Handler.Close fires it once; a goroutine then reads what there is,
// writes the answer with "Connection: close" and closes the connection.
// Waiting, it holds this struct, the subscription, its place in its
// timeout's FIFO and a netpoll watch.
type heldPoll struct {
	h      *Handler
	nc     net.Conn
	http11 bool
	// The header fields set before the poll was held (CORS, say), as the
	// answer's head writes them, shared with other polls (pollHeaderFields).
	fields []byte
	cur    hub.Cursor // resolved: what the answer reads after
	sub    hub.Notifier
	// Its place in the FIFO of its timeout (expiry.go), guarded by the
	// handler's expMu; q is nil once it left it.
	q            *expiryQueue
	qprev, qnext *heldPoll
	deadline     time.Time
	peer         *peerWatch
	member

	setup sync.Mutex  // held until the poll is fully set up
	fired atomic.Bool // finish started
	gone  atomic.Bool // the client went away
}

// holdPoll holds the poll of r, whose resolved cursor is cur, for at most
// timeout. It reports false, having done nothing, when the log's
// subscriptions cannot notify or the connection cannot be taken over: the
// caller then waits on its goroutine.
func (h *Handler) holdPoll(w http.ResponseWriter, r *http.Request, cur hub.Cursor, timeout time.Duration) bool {
	s, err := h.log.Subscribe(r.Context(), cur)
	if err != nil {
		return false
	}
	sub, ok := s.(hub.Notifier)
	if !ok {
		s.Close()
		return false
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	nc := hijack(w, r)
	if nc == nil {
		sub.Close()
		return false
	}
	p := &heldPoll{h: h, nc: nc, http11: r.ProtoAtLeast(1, 1), fields: h.pollHeaderFields(hd), cur: cur, sub: sub}
	p.member.ender = p
	p.setup.Lock()
	defer p.setup.Unlock()
	if !h.join(&p.member) {
		p.fire()
		return true
	}
	p.peer = watchPeer(nc, func() {
		p.gone.Store(true)
		p.fire()
	})
	h.expireAfter(p, timeout)
	if waiting, err := sub.Notify(h.ctx, p.fire); !waiting || err != nil {
		p.fire()
	}
	return true
}

// pollHeaderFields returns the fields of hd, a held poll's header, as its
// answer writes them: the rendering of the poll before when they are the
// same (as they are for every poll of a handler, but for headers that vary
// by request), so that each waiting poll does not keep a header of its own
// (a map of three fields: about 450 bytes).
func (h *Handler) pollHeaderFields(hd http.Header) []byte {
	f := appendFields(nil, hd)
	if last := h.pollFields.Load(); last != nil && bytes.Equal(*last, f) {
		return *last
	}
	h.pollFields.Store(&f)
	return f
}

// fire ends the wait, once.
func (p *heldPoll) fire() {
	if p.fired.CompareAndSwap(false, true) {
		go p.finish()
	}
}

// shutdown is Handler.Close: the poll is answered with what there is.
func (p *heldPoll) shutdown() { p.fire() }

// finish answers the poll and closes the connection.
func (p *heldPoll) finish() {
	p.setup.Lock() // wait for holdPoll to finish setting up
	p.setup.Unlock()
	p.h.unexpire(p)
	if p.peer != nil {
		p.peer.stop()
	}
	p.sub.Close()
	defer p.h.leave(&p.member)
	defer p.nc.Close()
	if p.gone.Load() {
		return
	}
	ctx := context.Background()
	if t := p.h.opts.WriteTimeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	pb := p.h.getBatch()
	n, next, err := p.h.log.ReadAfter(ctx, p.cur, *pb)
	status, fields := http.StatusOK, p.fields
	body, ok := appendPollAnswer(nil, (*pb)[:n], next, err)
	p.h.putBatch(pb)
	if !ok {
		status, fields = http.StatusServiceUnavailable, textFields
		body = []byte("reading the log failed\n")
	}
	head := appendHeadFields(nil, p.http11, status, fields, "Content-Length: "+strconv.Itoa(len(body))+"\r\nConnection: close\r\n\r\n")
	if t := p.h.opts.WriteTimeout; t > 0 {
		p.nc.SetWriteDeadline(time.Now().Add(t))
	}
	bufs := net.Buffers{head, body}
	bufs.WriteTo(p.nc)
}
