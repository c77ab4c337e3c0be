package httpstream

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/internal/oneline"
	"github.com/pushwire/pushwire/internal/wsidle"
	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// serveWebSocket accepts the connection and serves it without a goroutine
// of its own while it waits: the log is written by the stream's wake-ups
// (see stream.go), and the client's messages (OnPublish) are read by a
// wsReader, which parks between messages (internal/wsidle; elsewhere it
// keeps its goroutine in Read). Each record (see record.go) is one text
// message.
func (h *Handler) serveWebSocket(w http.ResponseWriter, r *http.Request, cur hub.Cursor) {
	if h.isClosed() {
		w.Header().Set("Retry-After", "1")
		httpError(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	c, err := wsproto.Accept(w, r, &h.ws)
	if err != nil {
		return // Accept answered the request
	}
	sub, resolved, rst, err := h.subscribe(h.ctx, cur)
	if err != nil {
		// RFC 6455 §7.4.1: 1011 "indicates that a server is terminating
		// the connection because it encountered an unexpected condition
		// that prevented it from fulfilling the request".
		c.Close(frame.CloseInternalError, "reading the log failed")
		c.CloseNow()
		return
	}
	s := &wsSink{c: c, timeout: h.opts.WriteTimeout, readDone: make(chan struct{})}
	if s.timeout <= 0 {
		s.timeout = DefaultWriteTimeout
	}
	s.dog = time.AfterFunc(s.timeout, func() { c.CloseNow() })
	s.dog.Stop()
	st := h.newStream(sub, resolved, rst, s)
	if !h.join(&st.member) {
		st.wakes |= wakeShutdown
	}
	rd := &wsReader{h: h, c: c, s: s, st: st}
	if h.opts.OnPublish != nil {
		// The request's context ends when this handler returns; keep what
		// OnPublish may look at, without it.
		rd.r = r.WithContext(context.WithoutCancel(r.Context()))
	}
	rd.resume, rd.parking = rd.run, rd.release
	go rd.run() // first: a stream that ends at once waits for the reader
	st.start()
	if r.ProtoMajor >= 2 {
		// Over HTTP/2 (RFC 8441) the stream ends with this handler.
		<-c.Done()
	}
}

// wsReader reads the client's messages into OnPublish until the
// connection ends, then ends the stream. Between messages it holds no
// goroutine where the connection can be parked (internal/wsidle): it
// resumes on a new one once the client sends something.
type wsReader struct {
	h       *Handler
	c       *wsproto.Conn
	r       *http.Request // for OnPublish; nil without it
	s       *wsSink
	st      *stream
	pb      *[]byte // the read buffer, from readBufs, while reading
	resume  func()  // run, bound once
	parking func()  // release, bound once
}

// release gives the read buffer back to the pool before the connection
// is parked.
func (rd *wsReader) release() {
	if rd.pb != nil {
		readBufs.Put(rd.pb)
		rd.pb = nil
	}
}

// readBufs holds the read buffers of the WebSocket readers that are not
// parked.
var readBufs = sync.Pool{New: func() any { return new([]byte) }}

func (rd *wsReader) run() {
	for {
		if wsidle.Park(rd.c, rd.resume, rd.parking) {
			return // rd belongs to the next resume
		}
		if rd.pb == nil {
			rd.pb = readBufs.Get().(*[]byte)
		}
		_, msg, err := rd.c.Read(context.Background(), *rd.pb)
		if err == nil {
			*rd.pb = wsproto.ReuseBuffer(msg)
			err = rd.publish(msg)
		}
		if err != nil {
			*rd.pb = nil
			readBufs.Put(rd.pb)
			rd.pb = nil
			close(rd.s.readDone) // first: end looks at closeCode
			rd.st.wake(wakePeer)
			return
		}
	}
}

// publish hands msg to OnPublish; an error ends the reading.
func (rd *wsReader) publish(msg []byte) error {
	h, s := rd.h, rd.s
	if h.opts.OnPublish == nil {
		// RFC 6455 §7.4.1: 1003 "indicates that an endpoint is
		// terminating the connection because it has received a type of
		// data it cannot accept".
		s.closeCode, s.closeReason = frame.CloseUnsupportedData, "this topic is read-only"
		return errReadOnly
	}
	if err := h.opts.OnPublish(rd.r, msg); err != nil {
		// A refusal is reported with a message of its own; wsproto keeps
		// it apart from the stream's messages.
		rec := appendErrorRecord(nil, oneline.Of(err.Error()))
		wctx, wcancel := context.WithTimeout(context.Background(), s.timeout)
		defer wcancel()
		return rd.c.Write(wctx, wsproto.MessageText, rec)
	}
	return nil
}

// errReadOnly ends the reading of a client that publishes to a topic
// without OnPublish.
var errReadOnly = errors.New("httpstream: this topic is read-only")

// wsSink writes records as WebSocket text messages, each bounded by the
// write timeout through a watchdog that closes the connection. It holds no
// buffer between messages.
type wsSink struct {
	c       *wsproto.Conn
	timeout time.Duration
	dog     *time.Timer
	pb      *[]byte // a pooled buffer while a message is written

	// Set by the wsReader before it closes readDone.
	readDone    chan struct{}
	closeCode   frame.CloseCode
	closeReason string
}

// send writes the record appended to the buffer b returned.
func (s *wsSink) send(rec []byte) error {
	s.dog.Reset(s.timeout)
	err := s.c.Write(context.Background(), wsproto.MessageText, rec)
	s.dog.Stop()
	if cap(rec) <= maxPooledBuf {
		*s.pb = rec[:0]
		writeBufs.Put(s.pb)
	}
	s.pb = nil
	return err
}

// b returns an empty buffer from the pool.
func (s *wsSink) b() []byte {
	s.pb = writeBufs.Get().(*[]byte)
	return (*s.pb)[:0]
}

func (s *wsSink) open(cur hub.Cursor, r *hub.ResetError) error {
	if r != nil {
		return s.reset(*r)
	}
	return s.send(appendCursorRecord(s.b(), cur))
}

func (s *wsSink) reset(r hub.ResetError) error {
	return s.send(appendResetRecord(s.b(), r))
}

func (s *wsSink) entry(e *hub.Entry) error {
	return s.send(appendEntryRecord(s.b(), e))
}

func (s *wsSink) gap(g hub.GapError, next hub.Cursor) error {
	return s.send(appendGapRecord(s.b(), g, next))
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

// end closes the connection with the code that says why (RFC 6455
// §7.4.1), and waits for the reading goroutine.
func (s *wsSink) end(why endReason, err error) {
	switch {
	case why == endShutdown:
		// 1001 "indicates that an endpoint is "going away", such as a
		// server going down".
		s.c.Close(frame.CloseGoingAway, "server shutting down")
	case why == endError && errors.Is(err, hub.ErrSlowConsumer):
		// 1008: the client broke the topic's policy by reading too slowly.
		s.c.Close(frame.ClosePolicyViolation, "slow consumer")
	case why == endPeer:
		select {
		case <-s.readDone:
			if s.closeCode != 0 {
				s.c.Close(s.closeCode, s.closeReason)
			}
		default:
		}
	case why == endLog:
		s.c.Close(frame.CloseNormal, "end of log")
	}
	s.dog.Stop()
	s.c.CloseNow()
	<-s.readDone
}
