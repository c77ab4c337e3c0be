package httpstream

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/internal/flushwrite"
	"github.com/pushwire/pushwire/sseproto"
)

// A sink writes one transport's framing. The loop calls open once, with
// the reset to report instead of the cursor when the client's cursor is
// from another history; then entry, gap and reset for what the log
// delivers, flush after each batch
// and keepAlive when the stream was idle for KeepAlive; the first error
// ends the stream. None of them is called concurrently. The epoch of the
// entries is that of the cursor given to open or of the last reset.
type sink interface {
	open(cur hub.Cursor, r *hub.ResetError) error
	entry(e *hub.Entry) error
	gap(g hub.GapError, next hub.Cursor) error
	reset(r hub.ResetError) error
	keepAlive() error
	flush() error
}

// next is one result of Subscription.Next, passed from the reading
// goroutine to the writing one.
type next struct {
	e   hub.Entry
	err error
}

// errSlowConsumer ends a stream whose subscription was dropped by the
// topic's Drop policy.
var errSlowConsumer = hub.ErrSlowConsumer

// stream subscribes to the log from cur and feeds s until ctx is done, the
// log is closed, or s fails. One goroutine reads the subscription into a
// small channel while this one writes, so that keep-alives and the end of
// ctx are noticed while the log is quiet, and what accumulated while a write
// was in progress goes out in one flush. It returns nil when the log was
// closed or ctx ended, hub.ErrSlowConsumer when the subscriber was dropped,
// and s's error otherwise.
func (h *Handler) stream(ctx context.Context, cur hub.Cursor, s sink) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Resolve the cursor first, so that the client learns where it stands
	// even before the first entry: a client that connected "from now" and
	// reconnects before anything was published must not skip what was
	// published in between.
	_, resolved, err := h.log.ReadAfter(ctx, cur, nil)
	var gap hub.GapError
	var reset hub.ResetError
	switch {
	case err == nil, errors.Is(err, hub.ErrClosed):
	case errors.As(err, &gap):
		// The subscription reports it; the client stands at its cursor,
		// in the log's epoch.
		resolved = hub.AfterIn(resolved.Epoch(), gap.After)
	case errors.As(err, &reset):
		// Told once, at the start; the stream goes on from where the
		// reset says.
	default:
		return err
	}
	sub, err := h.log.Subscribe(ctx, resolved)
	if err != nil {
		return err
	}
	ch := make(chan next, 16)
	go func() {
		defer close(ch)
		for {
			e, err := sub.Next(ctx)
			select {
			case ch <- next{e, err}:
			case <-ctx.Done():
				return
			}
			if err != nil && !errors.As(err, new(hub.GapError)) && !errors.As(err, new(hub.ResetError)) {
				return
			}
		}
	}()
	defer func() {
		cancel()
		sub.Close()
		for range ch {
		}
	}()

	epoch := resolved.Epoch()
	var r *hub.ResetError
	if reset.Epoch != "" {
		r = &reset
	}
	if err := s.open(resolved, r); err != nil {
		return err
	}
	if err := s.flush(); err != nil {
		return err
	}
	var tick <-chan time.Time
	var timer *time.Timer
	if h.opts.KeepAlive > 0 {
		timer = time.NewTimer(h.opts.KeepAlive)
		defer timer.Stop()
		tick = timer.C
	}
	// The entry handed to the sink lives here, so that passing its address
	// through the sink interface does not allocate per entry.
	slot := new(next)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
			if err := s.keepAlive(); err != nil {
				return err
			}
			if err := s.flush(); err != nil {
				return err
			}
			timer.Reset(h.opts.KeepAlive)
			continue
		case n, ok := <-ch:
			if !ok {
				return nil
			}
			*slot = n
			done, err := h.write(s, slot, &epoch)
			// Take what else is ready, up to a batch, before flushing.
			for i := 1; !done && err == nil && i < h.opts.MaxBatch; i++ {
				select {
				case n, ok = <-ch:
					if !ok {
						done = true
						break
					}
					*slot = n
					done, err = h.write(s, slot, &epoch)
					continue
				default:
				}
				break
			}
			if err == nil {
				err = s.flush()
			}
			if err != nil || done {
				return err
			}
			if timer != nil {
				timer.Reset(h.opts.KeepAlive)
			}
		}
	}
}

// write passes one result of Next to s; *epoch is the epoch of the
// entries, which a reset changes. done reports the end of the
// subscription; err is s's error or ErrSlowConsumer.
func (h *Handler) write(s sink, n *next, epoch *hub.Epoch) (done bool, err error) {
	if n.err == nil {
		return false, s.entry(&n.e)
	}
	var gap hub.GapError
	var reset hub.ResetError
	switch {
	case errors.As(n.err, &gap):
		return false, s.gap(gap, hub.AfterIn(*epoch, gap.Oldest-1))
	case errors.As(n.err, &reset):
		*epoch = reset.Epoch
		return false, s.reset(reset)
	case errors.Is(n.err, hub.ErrSlowConsumer):
		return true, errSlowConsumer
	}
	return true, nil // closed log or subscription, or ctx done
}

// respWriter is the part of the HTTP sinks that writes: a buffer written
// and flushed with a fresh write deadline (see flushwrite).
type respWriter struct {
	fw  flushwrite.Writer
	buf []byte
}

func newRespWriter(w http.ResponseWriter, timeout time.Duration) respWriter {
	return respWriter{fw: flushwrite.New(w, timeout), buf: make([]byte, 0, 4096)}
}

// flush writes the buffer and flushes the response, so that a stalled
// client is dropped after WriteTimeout and an http.Server.WriteTimeout does
// not end a live stream.
func (rw *respWriter) flush() error {
	err := rw.fw.Write(rw.buf)
	rw.buf = rw.buf[:0]
	return err
}

// pad appends a line of n bytes (spaces, then a line feed), which clients
// skip: it pushes a streamed response past the buffering of browsers and
// proxies that hold back the first bytes.
func (rw *respWriter) pad(n int) {
	if n > 0 {
		for range n - 1 {
			rw.buf = append(rw.buf, ' ')
		}
		rw.buf = append(rw.buf, '\n')
	}
}

// streamHeaders sets the headers common to every streamed response.
func streamHeaders(w http.ResponseWriter, contentType string) {
	hd := w.Header()
	hd.Set("Content-Type", contentType)
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
}

// serveStreaming runs a streamed response: registered with the handler,
// ended by the client going away or by Close.
func (h *Handler) serveStreaming(w http.ResponseWriter, r *http.Request, cur hub.Cursor, s sink) {
	if !h.begin() {
		// Closed: open the stream and end it at once, so that the client
		// reconnects (to the next process) as after any end of stream.
		s.open(cur, nil)
		s.flush()
		return
	}
	defer h.active.Done()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(h.ctx, cancel)
	defer stop()
	h.stream(ctx, cur, s)
}

// ndjsonSink writes newline-delimited JSON records. Padding and keep-alives
// are lines of spaces and empty lines, which clients skip.
type ndjsonSink struct {
	respWriter
	padding int
}

func (h *Handler) serveNDJSON(w http.ResponseWriter, r *http.Request, cur hub.Cursor) {
	streamHeaders(w, "application/x-ndjson")
	h.serveStreaming(w, r, cur, &ndjsonSink{newRespWriter(w, h.opts.WriteTimeout), h.opts.Padding})
}

func (s *ndjsonSink) open(cur hub.Cursor, r *hub.ResetError) error {
	s.pad(s.padding)
	if r != nil {
		return s.reset(*r)
	}
	s.buf = appendCursorRecord(s.buf, cur)
	s.buf = append(s.buf, '\n')
	return nil
}

func (s *ndjsonSink) entry(e *hub.Entry) error {
	s.buf = appendEntryRecord(s.buf, e)
	s.buf = append(s.buf, '\n')
	return nil
}

func (s *ndjsonSink) gap(g hub.GapError, next hub.Cursor) error {
	s.buf = appendGapRecord(s.buf, g, next)
	s.buf = append(s.buf, '\n')
	return nil
}

func (s *ndjsonSink) reset(r hub.ResetError) error {
	s.buf = appendResetRecord(s.buf, r)
	s.buf = append(s.buf, '\n')
	return nil
}

func (s *ndjsonSink) keepAlive() error {
	s.buf = append(s.buf, '\n')
	return nil
}

// iframeSink writes the "forever iframe" of Comet: an HTML document that
// never finishes loading, with one <script> element per record calling a
// function of the parent window with the record as its argument:
//
//	<script>parent.cb({"seq":18,"data":"hello"})</script>
//
// The records are escaped for this place (see appendJSONString), so that no
// payload can end the script element or the document. The parent sees the
// end of the stream as the iframe's load event.
type iframeSink struct {
	respWriter
	padding  int
	callback string
}

// callbackPattern is what the callback query parameter may name: a
// JavaScript identifier or a dotted path of them, ASCII only.
var callbackPattern = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$`)

// maxCallback bounds the length of the callback parameter.
const maxCallback = 64

// DefaultCallback is the parent window's function that the iframe stream
// calls when the request names none.
const DefaultCallback = "pushwireFrame"

func (h *Handler) serveIframe(w http.ResponseWriter, r *http.Request, cur hub.Cursor) {
	cb := r.URL.Query().Get("callback")
	if cb == "" {
		cb = DefaultCallback
	}
	// The callback is written into a script: allow identifiers only.
	if len(cb) > maxCallback || !callbackPattern.MatchString(cb) {
		httpError(w, "malformed callback", http.StatusBadRequest)
		return
	}
	streamHeaders(w, "text/html; charset=utf-8")
	// Only a page of the same origin may frame the stream: the parent
	// window's callback is reachable from the same origin only anyway.
	w.Header().Set("X-Frame-Options", "SAMEORIGIN")
	h.serveStreaming(w, r, cur, &iframeSink{newRespWriter(w, h.opts.WriteTimeout), h.opts.Padding, cb})
}

func (s *iframeSink) open(cur hub.Cursor, r *hub.ResetError) error {
	s.buf = append(s.buf, "<!doctype html>\n<meta charset=\"utf-8\">\n<title>pushwire</title>\n"...)
	s.pad(s.padding)
	if r != nil {
		return s.reset(*r)
	}
	s.begin()
	s.buf = appendCursorRecord(s.buf, cur)
	s.end()
	return nil
}

func (s *iframeSink) begin() {
	s.buf = append(s.buf, "<script>parent."...)
	s.buf = append(s.buf, s.callback...)
	s.buf = append(s.buf, '(')
}

func (s *iframeSink) end() { s.buf = append(s.buf, ")</script>\n"...) }

func (s *iframeSink) entry(e *hub.Entry) error {
	s.begin()
	s.buf = appendEntryRecord(s.buf, e)
	s.end()
	return nil
}

func (s *iframeSink) gap(g hub.GapError, next hub.Cursor) error {
	s.begin()
	s.buf = appendGapRecord(s.buf, g, next)
	s.end()
	return nil
}

func (s *iframeSink) reset(r hub.ResetError) error {
	s.begin()
	s.buf = appendResetRecord(s.buf, r)
	s.end()
	return nil
}

func (s *iframeSink) keepAlive() error {
	s.buf = append(s.buf, '\n')
	return nil
}

// sseSink writes text/event-stream (HTML §9.2): each entry an event whose id
// is the cursor after it (EPOCH:SEQ, since an EventSource sends back only
// its last event id), whose type is the entry's Type (none for ""), and
// whose data is the payload.
// maxCursorLen bounds a cursor's text, EPOCH:SEQ: an epoch of at most 32
// bytes (hub), a colon and 20 digits. It sizes the SSE sink's scratch
// buffers, so that encoding an id allocates nothing.
const maxCursorLen = 32 + 1 + 20

type sseSink struct {
	respWriter
	retry time.Duration
	epoch hub.Epoch // of the entries: their ids are EPOCH:SEQ
}

func (h *Handler) serveSSE(w http.ResponseWriter, r *http.Request, cur hub.Cursor) {
	streamHeaders(w, "text/event-stream")
	h.serveStreaming(w, r, cur, &sseSink{respWriter: newRespWriter(w, h.opts.WriteTimeout), retry: h.opts.Retry})
}

// open writes a "pushwire.cursor" event whose id and data are the resolved
// cursor, with the retry field if any: the id makes a reconnecting
// EventSource resume from there even before the first entry, and the data
// tells a script where the stream starts (EventSource has no other way to
// show it the last event ID). For a client from another history it writes
// the "pushwire.reset" event instead.
func (s *sseSink) open(cur hub.Cursor, r *hub.ResetError) error {
	if r != nil {
		return s.resetEvent(*r, s.retry)
	}
	s.epoch = cur.Epoch()
	var id [maxCursorLen]byte
	c := appendCursor(id[:0], cur)
	return s.event("pushwire.cursor", c, c, s.retry)
}

// reset writes a "pushwire.reset" event: data the new epoch and the
// sequence number the stream resumes after, as JSON, and id the cursor to
// resume from, so that an EventSource reconnecting later sends it in
// Last-Event-ID (HTML §9.2.6: the id field sets the last event ID buffer).
func (s *sseSink) reset(r hub.ResetError) error { return s.resetEvent(r, 0) }

func (s *sseSink) resetEvent(r hub.ResetError, retry time.Duration) error {
	s.epoch = r.Epoch
	var id [maxCursorLen]byte
	var data [maxCursorLen + 32]byte
	return s.event("pushwire.reset", appendCursor(id[:0], r.Cursor()), appendReset(data[:0], r), retry)
}

// entry writes the entry as an event whose id is the cursor after it,
// EPOCH:SEQ. The entry's type and data come from publishers, so they are
// made safe first: a type holding CR or LF is dropped (HTML §9.2.6: a line
// ends at CR, LF or CRLF, so such a type would inject fields), and invalid
// UTF-8, which the receiver decodes as U+FFFD, is replaced with U+FFFD
// here, so that the stream stays valid UTF-8. Every line of the data
// becomes a data field, so the event dispatches with the payload's lines
// joined by LF.
func (s *sseSink) entry(e *hub.Entry) error {
	typ := e.Type
	if hasLineBreak(typ) {
		typ = ""
	}
	var id [maxCursorLen]byte
	c := appendCursor(id[:0], hub.AfterIn(s.epoch, e.Seq))
	b, err := sseproto.AppendEventBytes(s.buf, typ, c, e.Data, 0)
	if err != nil {
		// Invalid UTF-8 in the type or the data: the only thing the
		// encoder can refuse here.
		typ = string(appendValidUTF8(nil, []byte(typ)))
		b, err = sseproto.AppendEventBytes(s.buf, typ, c, appendValidUTF8(nil, e.Data), 0)
	}
	s.buf = b
	return err
}

// gap writes a "pushwire.gap" event whose data is the gap as JSON and whose
// id is the cursor that skips it.
func (s *sseSink) gap(g hub.GapError, next hub.Cursor) error {
	var id [maxCursorLen]byte
	var data [96]byte
	return s.event("pushwire.gap", appendCursor(id[:0], next), appendGap(data[:0], g), 0)
}

// event appends one event of the stream's own.
func (s *sseSink) event(typ string, id, data []byte, retry time.Duration) error {
	b, err := sseproto.AppendEventBytes(s.buf, typ, id, data, retry)
	s.buf = b
	return err
}

// keepAlive writes a comment line, which EventSource ignores (§9.2.6: lines
// starting with a colon).
func (s *sseSink) keepAlive() error {
	b, err := sseproto.AppendComment(s.buf, "")
	s.buf = b
	return err
}

func hasLineBreak(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' || s[i] == '\n' {
			return true
		}
	}
	return false
}
