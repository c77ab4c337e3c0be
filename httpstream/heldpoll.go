package httpstream

import (
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
// it while it waits. A notification of its subscription (hub.Notifier), its
// timer, the client going away (netpoll) or Handler.Close fires it once;
// a goroutine then reads what there is, writes the answer with
// "Connection: close" and closes the connection. Waiting, it holds this
// struct, the subscription, a runtime timer and a netpoll watch.
type heldPoll struct {
	h      *Handler
	nc     net.Conn
	http11 bool
	hdr    http.Header // the header set before the poll was held (CORS, say)
	cur    hub.Cursor  // resolved: what the answer reads after
	sub    hub.Notifier
	timer  *time.Timer
	peer   *peerWatch
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
	hdr := hd.Clone()
	nc := hijack(w, r)
	if nc == nil {
		sub.Close()
		return false
	}
	p := &heldPoll{h: h, nc: nc, http11: r.ProtoAtLeast(1, 1), hdr: hdr, cur: cur, sub: sub}
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
	p.timer = time.AfterFunc(timeout, p.fire)
	if waiting, err := sub.Notify(h.ctx, p.fire); !waiting || err != nil {
		p.fire()
	}
	return true
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
	if p.timer != nil {
		p.timer.Stop()
	}
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
	buf := make([]hub.Entry, p.h.opts.MaxBatch)
	n, next, err := p.h.log.ReadAfter(ctx, p.cur, buf)
	status := http.StatusOK
	body, ok := appendPollAnswer(nil, buf[:n], next, err)
	if !ok {
		status = http.StatusServiceUnavailable
		p.hdr = http.Header{"Content-Type": {"text/plain; charset=utf-8"}}
		body = []byte("reading the log failed\n")
	}
	head := appendHead(nil, p.http11, status, p.hdr, "Content-Length: "+strconv.Itoa(len(body))+"\r\nConnection: close\r\n\r\n")
	if t := p.h.opts.WriteTimeout; t > 0 {
		p.nc.SetWriteDeadline(time.Now().Add(t))
	}
	bufs := net.Buffers{head, body}
	bufs.WriteTo(p.nc)
}
