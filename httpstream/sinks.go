package httpstream

import (
	"net/http"
	"regexp"
	"time"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/sseproto"
)

// streamHeaders sets the headers common to every streamed response.
func streamHeaders(w http.ResponseWriter, contentType string) {
	hd := w.Header()
	hd.Set("Content-Type", contentType)
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
}

// serveStreaming runs a streamed response, which s writes through its
// respWriter: registered with the handler, ended by the client going away
// or by Close. Over HTTP/1.x the connection is taken from net/http and the
// handler returns at once (see hijack.go); otherwise the handler stays
// until the stream ends.
func (h *Handler) serveStreaming(w http.ResponseWriter, r *http.Request, cur hub.Cursor, s sink, rw *respWriter) {
	if h.isClosed() {
		// Closed: open the stream and end it at once, so that the client
		// reconnects (to the next process) as after any end of stream.
		rw.out = newRWOutput(w, h.opts.WriteTimeout)
		s.open(cur, nil)
		s.flush()
		return
	}
	sub, resolved, rst, err := h.subscribe(r.Context(), cur)
	if err != nil {
		httpError(w, "reading the log failed", http.StatusServiceUnavailable)
		return
	}
	if !canHijack(w, r) {
		rw.out = newRWOutput(w, h.opts.WriteTimeout)
		h.runStream(r.Context(), sub, resolved, rst, s)
		return
	}
	hdr := w.Header().Clone()
	nc := hijack(w, r)
	if nc == nil {
		// The checks said yes, net/http said no: it answers the request
		// itself.
		sub.Close()
		return
	}
	o := newH1Output(nc, r, hdr, h.opts.WriteTimeout)
	rw.out = o
	st := h.newStream(sub, resolved, rst, s)
	if !h.join(&st.member) {
		st.wakes |= wakeShutdown
	}
	o.peer = watchPeer(nc, func() { st.wake(wakePeer) })
	st.start()
}

// ndjsonSink writes newline-delimited JSON records. Padding and keep-alives
// are lines of spaces and empty lines, which clients skip.
type ndjsonSink struct {
	respWriter
	padding int
}

func (h *Handler) serveNDJSON(w http.ResponseWriter, r *http.Request, cur hub.Cursor) {
	streamHeaders(w, "application/x-ndjson")
	s := &ndjsonSink{padding: h.opts.Padding}
	h.serveStreaming(w, r, cur, s, &s.respWriter)
}

func (s *ndjsonSink) open(cur hub.Cursor, r *hub.ResetError) error {
	s.pad(s.padding)
	if r != nil {
		return s.reset(*r)
	}
	s.buf = appendCursorRecord(s.b(), cur)
	s.buf = append(s.buf, '\n')
	return nil
}

func (s *ndjsonSink) entry(e *hub.Entry) error {
	s.buf = appendEntryRecord(s.b(), e)
	s.buf = append(s.buf, '\n')
	return nil
}

func (s *ndjsonSink) gap(g hub.GapError, next hub.Cursor) error {
	s.buf = appendGapRecord(s.b(), g, next)
	s.buf = append(s.buf, '\n')
	return nil
}

func (s *ndjsonSink) reset(r hub.ResetError) error {
	s.buf = appendResetRecord(s.b(), r)
	s.buf = append(s.buf, '\n')
	return nil
}

func (s *ndjsonSink) keepAlive() error {
	s.buf = append(s.b(), '\n')
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
	cb := queryValue(r, "callback")
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
	s := &iframeSink{padding: h.opts.Padding, callback: cb}
	h.serveStreaming(w, r, cur, s, &s.respWriter)
}

func (s *iframeSink) open(cur hub.Cursor, r *hub.ResetError) error {
	s.buf = append(s.b(), "<!doctype html>\n<meta charset=\"utf-8\">\n<title>pushwire</title>\n"...)
	s.pad(s.padding)
	if r != nil {
		return s.reset(*r)
	}
	s.beginScript()
	s.buf = appendCursorRecord(s.buf, cur)
	s.endScript()
	return nil
}

func (s *iframeSink) beginScript() {
	s.buf = append(s.b(), "<script>parent."...)
	s.buf = append(s.buf, s.callback...)
	s.buf = append(s.buf, '(')
}

func (s *iframeSink) endScript() { s.buf = append(s.buf, ")</script>\n"...) }

func (s *iframeSink) entry(e *hub.Entry) error {
	s.beginScript()
	s.buf = appendEntryRecord(s.buf, e)
	s.endScript()
	return nil
}

func (s *iframeSink) gap(g hub.GapError, next hub.Cursor) error {
	s.beginScript()
	s.buf = appendGapRecord(s.buf, g, next)
	s.endScript()
	return nil
}

func (s *iframeSink) reset(r hub.ResetError) error {
	s.beginScript()
	s.buf = appendResetRecord(s.buf, r)
	s.endScript()
	return nil
}

func (s *iframeSink) keepAlive() error {
	s.buf = append(s.b(), '\n')
	return nil
}

// sseSink writes text/event-stream (HTML §9.2): each entry an event whose id
// is the cursor after it (EPOCH:SEQ, since an EventSource sends back only
// its last event id), whose type is the entry's Type (none for ""), and
// whose data is the payload.
type sseSink struct {
	respWriter
	retry time.Duration
	epoch hub.Epoch // of the entries: their ids are EPOCH:SEQ
}

// maxCursorLen bounds a cursor's text, EPOCH:SEQ: an epoch of at most 32
// bytes (hub), a colon and 20 digits. It sizes the SSE sink's scratch
// buffers, so that encoding an id allocates nothing.
const maxCursorLen = 32 + 1 + 20

func (h *Handler) serveSSE(w http.ResponseWriter, r *http.Request, cur hub.Cursor) {
	streamHeaders(w, "text/event-stream")
	s := &sseSink{retry: h.opts.Retry}
	h.serveStreaming(w, r, cur, s, &s.respWriter)
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
	b, err := sseproto.AppendEventBytes(s.b(), typ, c, e.Data, 0)
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
	b, err := sseproto.AppendEventBytes(s.b(), typ, id, data, retry)
	s.buf = b
	return err
}

// keepAlive writes a comment line, which EventSource ignores (§9.2.6: lines
// starting with a colon).
func (s *sseSink) keepAlive() error {
	b, err := sseproto.AppendComment(s.b(), "")
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
