package httpstream

import "time"

// Held polls time out through one runtime timer per distinct timeout,
// not one each: the polls of a handler that wait for the same duration
// expire in the order they started, so each duration keeps a FIFO of its
// polls (linked through them) and a timer set for the first one's
// deadline. A poll answered before its timeout leaves its FIFO in O(1).
// The durations are PollTimeout and the shorter whole seconds clients ask
// for, so there are at most PollTimeout ÷ 1 s + 1 FIFOs; an empty one is
// dropped with its timer.

// An expiryQueue is the held polls of one timeout, oldest first; guarded
// by the handler's expMu.
type expiryQueue struct {
	d          time.Duration
	head, tail *heldPoll
	timer      *time.Timer
}

// expireAfter arranges for p.fire to run once d has passed, unless
// unexpire comes first.
func (h *Handler) expireAfter(p *heldPoll, d time.Duration) {
	h.expMu.Lock()
	defer h.expMu.Unlock()
	q := h.expiries[d]
	if q == nil {
		if h.expiries == nil {
			h.expiries = make(map[time.Duration]*expiryQueue)
		}
		q = &expiryQueue{d: d}
		h.expiries[d] = q
	}
	// Deadlines are taken under expMu: the FIFO is in deadline order.
	p.deadline = time.Now().Add(d)
	p.q, p.qprev, p.qnext = q, q.tail, nil
	if q.tail != nil {
		q.tail.qnext = p
	} else {
		q.head = p
	}
	q.tail = p
	if q.head != p {
		return // the timer is set for an earlier poll
	}
	if q.timer == nil {
		q.timer = time.AfterFunc(d, func() { h.expire(q) })
	} else {
		q.timer.Reset(d)
	}
}

// unexpire takes p out of its FIFO, if it is still in one.
func (h *Handler) unexpire(p *heldPoll) {
	h.expMu.Lock()
	defer h.expMu.Unlock()
	q := p.q
	if q == nil {
		return
	}
	q.unlink(p)
	if q.head == nil {
		q.timer.Stop()
		if h.expiries[q.d] == q {
			delete(h.expiries, q.d)
		}
	}
}

func (q *expiryQueue) unlink(p *heldPoll) {
	if p.qprev != nil {
		p.qprev.qnext = p.qnext
	} else {
		q.head = p.qnext
	}
	if p.qnext != nil {
		p.qnext.qprev = p.qprev
	} else {
		q.tail = p.qprev
	}
	p.q, p.qprev, p.qnext = nil, nil, nil
}

// expire is q's timer: the polls whose deadline has come are fired, and
// the timer is set for the next one.
func (h *Handler) expire(q *expiryQueue) {
	var due *heldPoll // linked through qnext once out of q
	h.expMu.Lock()
	now := time.Now()
	for p := q.head; p != nil && !p.deadline.After(now); p = q.head {
		q.unlink(p)
		p.qnext, due = due, p
	}
	switch {
	case q.head != nil:
		q.timer.Reset(q.head.deadline.Sub(now))
	case h.expiries[q.d] == q:
		delete(h.expiries, q.d)
	}
	h.expMu.Unlock()
	for p := due; p != nil; {
		next := p.qnext
		p.qnext = nil
		p.fire()
		p = next
	}
}
