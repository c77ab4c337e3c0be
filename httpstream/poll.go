package httpstream

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/pushwire/pushwire/hub"
)

// servePoll answers a long poll (or, with a timeout of 0, a short poll):
//
//	{"cursor":"k3x9:19","entries":[{"seq":18,...},{"seq":19,...}]}
//	{"cursor":"k3x9:9","entries":[],"gap":{"after":3,"oldest":10,"lost":6}}
//	{"cursor":"p2m7:0","entries":[],"reset":{"epoch":"p2m7","after":0}}
//
// The entries are those after the request's cursor, oldest first, at most
// MaxBatch; cursor is what the client sends with its next poll. A cursor
// from another history is answered at once with "reset" and the cursor
// that starts the current one. With nothing
// after the cursor the request is held until an entry is published, the
// timeout passes, the client goes away or the handler is closed; then the
// answer carries no entries and the resolved cursor. A client that polls
// again with the cursor of each answer, and with its old cursor after a
// failed poll, receives every entry exactly once and in order.
func (h *Handler) servePoll(w http.ResponseWriter, r *http.Request, cur hub.Cursor) {
	timeout := h.opts.PollTimeout
	if s := queryValue(r, "timeout"); s != "" {
		secs, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			httpError(w, "malformed timeout", http.StatusBadRequest)
			return
		}
		if d := time.Duration(secs) * time.Second; d < timeout {
			timeout = d
		}
	}
	closed := h.isClosed()
	if closed {
		timeout = 0 // closed: answer at once
	}
	ctx := r.Context()
	pb := h.getBatch()
	defer h.putBatch(pb)
	buf := *pb
	n, next, err := h.log.ReadAfter(ctx, cur, buf)
	if n == 0 && err == nil && timeout > 0 {
		if canHijack(w, r) && h.holdPoll(w, r, next, timeout) {
			return // answered by the held poll
		}
		if !h.begin() {
			timeout = 0
		} else {
			defer h.active.Done()
		}
		wctx, cancel := context.WithTimeout(ctx, timeout)
		stop := context.AfterFunc(h.ctx, cancel)
		// Wait with the resolved cursor: a FromNow would resolve again.
		err = h.log.Wait(wctx, next)
		stop()
		cancel()
		if err == nil {
			n, next, err = h.log.ReadAfter(ctx, next, buf)
		} else if ctx.Err() == nil {
			err = nil // timed out or closing: answer with no entries
		}
	}
	out, ok := appendPollAnswer(nil, buf[:n], next, err)
	if !ok { // the client went away, or the log failed
		httpError(w, "reading the log failed", http.StatusServiceUnavailable)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(len(out)))
	if h.opts.WriteTimeout > 0 {
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
	}
	w.Write(out)
}

// appendPollAnswer appends the JSON answer to a poll: entries, the cursor
// next, and the gap or reset err holds. ok is false when err is an error
// the answer cannot carry (the log failed, or the client went away).
func appendPollAnswer(out []byte, entries []hub.Entry, next hub.Cursor, err error) (_ []byte, ok bool) {
	var gap hub.GapError
	var reset hub.ResetError
	switch {
	case err == nil, errors.Is(err, hub.ErrClosed):
	case errors.As(err, &gap):
	case errors.As(err, &reset):
	default:
		return out, false
	}
	out = append(out, `{"cursor":"`...)
	out = appendCursor(out, next)
	out = append(out, `","entries":[`...)
	for i := range entries {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendEntryRecord(out, &entries[i])
	}
	out = append(out, ']')
	if gap.Oldest != 0 {
		out = append(out, `,"gap":`...)
		out = appendGap(out, gap)
	}
	if reset.Epoch != "" {
		out = append(out, `,"reset":`...)
		out = appendReset(out, reset)
	}
	return append(out, "}\n"...), true
}
