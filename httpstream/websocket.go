package httpstream

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/internal/oneline"
	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// serveWebSocket accepts the connection and serves it from a goroutine of
// its own, so that net/http's serving stack is freed. Each record (see
// record.go) is one text message. Messages from the client go to OnPublish.
func (h *Handler) serveWebSocket(w http.ResponseWriter, r *http.Request, cur hub.Cursor) {
	if !h.begin() {
		w.Header().Set("Retry-After", "1")
		httpError(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	c, err := wsproto.Accept(w, r, &h.ws)
	if err != nil {
		h.active.Done()
		return // Accept answered the request
	}
	// The request's context ends when this handler returns; keep what
	// OnPublish may look at, without it.
	r = r.WithContext(context.WithoutCancel(r.Context()))
	go func() {
		defer h.active.Done()
		h.serveConn(c, r, cur)
	}()
	if r.ProtoMajor >= 2 {
		// Over HTTP/2 (RFC 8441) the stream ends with this handler.
		<-c.Done()
	}
}

// wsSink writes records as WebSocket text messages, each bounded by the
// write timeout through a watchdog that closes the connection.
type wsSink struct {
	c       *wsproto.Conn
	timeout time.Duration
	dog     *time.Timer
	buf     []byte
}

func (s *wsSink) send() error {
	if s.dog != nil {
		s.dog.Reset(s.timeout)
	}
	err := s.c.Write(context.Background(), wsproto.MessageText, s.buf)
	if s.dog != nil {
		s.dog.Stop()
	}
	s.buf = s.buf[:0]
	return err
}

func (s *wsSink) open(cur hub.Cursor, r *hub.ResetError) error {
	if r != nil {
		return s.reset(*r)
	}
	s.buf = appendCursorRecord(s.buf[:0], cur)
	return s.send()
}

func (s *wsSink) reset(r hub.ResetError) error {
	s.buf = appendResetRecord(s.buf[:0], r)
	return s.send()
}

func (s *wsSink) entry(e *hub.Entry) error {
	s.buf = appendEntryRecord(s.buf[:0], e)
	return s.send()
}

func (s *wsSink) gap(g hub.GapError, next hub.Cursor) error {
	s.buf = appendGapRecord(s.buf[:0], g, next)
	return s.send()
}

// keepAlive pings and waits for the pong (received by the reading
// goroutine) at most WriteTimeout; a peer that does not answer ends the
// stream.
func (s *wsSink) keepAlive() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	return s.c.Ping(ctx, nil)
}

func (s *wsSink) flush() error { return nil }

// serveConn runs one WebSocket connection: this goroutine writes the log,
// another reads the client's messages.
func (h *Handler) serveConn(c *wsproto.Conn, r *http.Request, cur hub.Cursor) {
	defer c.CloseNow()
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()

	// Closing the connection by hand (a close frame or a read error from
	// the client) must end the writer too.
	var closeCode frame.CloseCode
	var closeReason string
	readDone := make(chan struct{})
	sink := &wsSink{c: c, timeout: h.opts.WriteTimeout, buf: make([]byte, 0, 512)}
	if sink.timeout <= 0 {
		sink.timeout = DefaultWriteTimeout
	}
	sink.dog = time.AfterFunc(sink.timeout, func() { c.CloseNow() })
	sink.dog.Stop()
	defer sink.dog.Stop()
	go func() {
		defer cancel()
		defer close(readDone) // before cancel: the writer looks at it
		var buf []byte
		for {
			_, msg, err := c.Read(context.Background(), buf)
			if err != nil {
				return
			}
			buf = wsproto.ReuseBuffer(msg)
			if h.opts.OnPublish == nil {
				// RFC 6455 §7.4.1: 1003 "indicates that an endpoint is
				// terminating the connection because it has received a
				// type of data it cannot accept".
				closeCode, closeReason = frame.CloseUnsupportedData, "this topic is read-only"
				return
			}
			if err := h.opts.OnPublish(r, msg); err != nil {
				// The writer owns the sink; a refusal is reported with a
				// message of its own.
				rec := appendErrorRecord(nil, oneline.Of(err.Error()))
				wctx, wcancel := context.WithTimeout(context.Background(), sink.timeout)
				werr := c.Write(wctx, wsproto.MessageText, rec)
				wcancel()
				if werr != nil {
					return
				}
			}
		}
	}()

	err := h.stream(ctx, cur, sink)
	switch {
	case h.ctx.Err() != nil:
		// RFC 6455 §7.4.1: 1001 "indicates that an endpoint is "going
		// away", such as a server going down".
		c.Close(frame.CloseGoingAway, "server shutting down")
	case errors.Is(err, hub.ErrSlowConsumer):
		// 1008: the client broke the topic's policy by reading too slowly.
		c.Close(frame.ClosePolicyViolation, "slow consumer")
	default:
		select {
		case <-readDone:
			if closeCode != 0 {
				c.Close(closeCode, closeReason)
			}
		default:
			if err == nil {
				c.Close(frame.CloseNormal, "end of log")
			}
		}
	}
	c.CloseNow()
	<-readDone
}
