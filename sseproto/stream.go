package sseproto

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pushwire/pushwire/internal/flushwrite"
)

// Defaults for StreamOptions.
const (
	// DefaultKeepAlive is how long Stream.Run lets a stream stay silent
	// before it writes a keep-alive comment. HTML §9.2.7: "legacy proxy
	// servers are known to, in certain cases, drop HTTP connections after
	// a short timeout. To protect against such proxy servers, authors can
	// include a comment line (one starting with a ':' character) every 15
	// seconds or so."
	DefaultKeepAlive = 15 * time.Second
	// DefaultWriteTimeout is how long one write to a stream may take.
	DefaultWriteTimeout = 10 * time.Second
)

// StreamOptions configures a Stream. The zero value (or nil) gives the
// defaults.
type StreamOptions struct {
	// KeepAlive is how long Run waits without writing before it sends a
	// keep-alive comment, so that proxies and clients do not drop an idle
	// stream. Zero means DefaultKeepAlive (15 s); negative disables them.
	KeepAlive time.Duration
	// WriteTimeout bounds each write: before every write the Stream sets
	// the connection's write deadline to now plus WriteTimeout, through
	// http.ResponseController. This both stops a stalled client from
	// blocking the handler forever and keeps a server's own
	// http.Server.WriteTimeout from cutting a live stream. Zero means
	// DefaultWriteTimeout (10 s); negative leaves deadlines alone.
	WriteTimeout time.Duration
	// Retry, if positive, is sent first as a retry field: the reconnection
	// time the client should use. Default: none (the client's own default).
	Retry time.Duration
}

// A Stream is the server side of a text/event-stream response. Events are
// written with Send, or from a channel by Run, which also writes the
// keep-alive comments; a client that reconnects names the last event it got
// in Last-Event-ID (see LastEventID), from which the handler replays.
//
// Send and Comment are safe for concurrent use with each other and with
// Run; writes are serialized. A Stream must not be used after the handler
// that created it has returned.
type Stream struct {
	req       *http.Request
	keepAlive time.Duration

	mu  sync.Mutex
	fw  flushwrite.Writer
	buf []byte
	err error // sticky write error
}

// NewStream starts an event stream on w: it sets Content-Type:
// text/event-stream, Cache-Control: no-store and X-Accel-Buffering: no
// (which tells nginx not to buffer), sends the 200 status and the optional
// retry field, and flushes, so the client sees the stream open at once.
// It fails if w cannot flush. opts may be nil.
//
// Read LastEventID(r) first to find what the client already has; to tell
// an EventSource to stop reconnecting, answer NoContent instead of calling
// NewStream.
func NewStream(w http.ResponseWriter, r *http.Request, opts *StreamOptions) (*Stream, error) {
	s := &Stream{req: r, keepAlive: DefaultKeepAlive}
	writeTimeout := DefaultWriteTimeout
	var retry time.Duration
	if opts != nil {
		if opts.KeepAlive != 0 {
			s.keepAlive = opts.KeepAlive
		}
		if opts.WriteTimeout != 0 {
			writeTimeout = opts.WriteTimeout
		}
		retry = opts.Retry
	}
	s.fw = flushwrite.New(w, writeTimeout)
	h := w.Header()
	// §9.2.5: "This event stream format's MIME type is text/event-stream."
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fw.SetDeadline(); err != nil {
		return nil, err
	}
	w.WriteHeader(http.StatusOK)
	if retry > 0 {
		ms := retry / time.Millisecond
		if retry%time.Millisecond != 0 {
			ms++
		}
		b := strconv.AppendInt(append(s.buf[:0], "retry: "...), int64(ms), 10)
		s.buf = append(b, '\n', '\n')
		if _, err := w.Write(s.buf); err != nil {
			return nil, err
		}
	}
	if err := s.fw.Flush(); err != nil {
		if errors.Is(err, http.ErrNotSupported) {
			return nil, fmt.Errorf("sseproto: the ResponseWriter cannot flush: %w", err)
		}
		return nil, err
	}
	return s, nil
}

// LastEventID returns the request's Last-Event-ID header: the ID of the
// last event a reconnecting EventSource received, or "" on a first
// connection. A value holding CR, LF or U+0000, which no EventSource sends,
// gives "".
func LastEventID(r *http.Request) string {
	v := r.Header.Get("Last-Event-ID")
	if strings.ContainsAny(v, "\r\n\x00") {
		return ""
	}
	return v
}

// NoContent answers 204 No Content. HTML §9.2.7: "a client can be told to
// stop reconnecting using the HTTP 204 No Content response code." Call it
// instead of NewStream, for example when the Last-Event-ID shows that the
// client already has the whole of a finished stream.
func NoContent(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNoContent)
}

// Send writes ev and flushes it to the client. It returns an error wrapping
// ErrInvalidEvent for an event the Encoder refuses (the stream stays
// usable), or the write error, after which every call fails.
//
// Send writes no keep-alives: only Run does, after KeepAlive of silence. A
// handler that sends from a loop of its own calls Comment("") when it has
// been silent for a while, as examples/ssereplay does between the entries
// of a hub subscription.
func (s *Stream) Send(ev Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	b, err := AppendEvent(s.buf[:0], ev)
	if err != nil {
		return err
	}
	s.buf = b
	return s.writeLocked(b)
}

// Comment writes text as a comment (see Encoder.Comment) and flushes it.
func (s *Stream) Comment(text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	b, err := appendComment(s.buf[:0], text)
	if err != nil {
		return err
	}
	s.buf = b
	return s.writeLocked(b)
}

// Run sends every event received from events, and a keep-alive comment
// whenever KeepAlive passes without a write, all from the calling
// goroutine. It returns nil when events is closed, the context's error when
// ctx is done or the client goes away (the request's context is done), and
// the error of a failed write. An event the Encoder refuses ends Run with
// that error.
func (s *Stream) Run(ctx context.Context, events <-chan Event) error {
	var ticker *time.Ticker
	var tick <-chan time.Time
	if s.keepAlive > 0 {
		ticker = time.NewTicker(s.keepAlive)
		defer ticker.Stop()
		tick = ticker.C
	}
	gone := s.req.Context().Done()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-gone:
			return s.req.Context().Err()
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if err := s.Send(ev); err != nil {
				return err
			}
			if ticker != nil {
				ticker.Reset(s.keepAlive)
			}
		case <-tick:
			if err := s.Comment(""); err != nil {
				return err
			}
		}
	}
}

// writeLocked writes b under a fresh deadline and flushes it; an error is
// sticky.
func (s *Stream) writeLocked(b []byte) error {
	if err := s.fw.Write(b); err != nil {
		s.err = err
		return err
	}
	return nil
}
