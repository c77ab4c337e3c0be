package httpstream

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pushwire/pushwire/internal/netpoll"
)

// Over HTTP/1.x a stream, and a long poll that has to wait, take their
// connection from net/http (Hijack) once the request is checked and write
// the response themselves. net/http's serving goroutine, its background
// reader and its buffers (4 KiB to read, 4 KiB to write, 2 KiB for the
// response) then go away, and the connection is watched for the client
// going away with netpoll instead of a goroutine. The response says
// Connection: close: the connection is closed when the response ends.
// HTTP/2 streams, HEAD requests and ResponseWriters that cannot be taken
// over keep net/http's response.

// hijack takes the connection of r, an HTTP/1.x GET, from net/http, and
// returns it with what net/http buffered after the request, or nil when
// the response stays with net/http.
func hijack(w http.ResponseWriter, r *http.Request) net.Conn {
	if r.ProtoMajor != 1 || r.Method != http.MethodGet {
		return nil
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil
	}
	// Bytes after the request (a pipelined request) are not served: the
	// connection closes after the response. Dropping brw gives net/http's
	// buffers to the garbage collector.
	_ = brw
	// The server's ReadTimeout and WriteTimeout deadlines stay on a
	// hijacked connection: the stream sets its own write deadlines, and
	// the client may stay silent for as long as the stream lasts.
	nc.SetDeadline(time.Time{})
	return nc
}

// canHijack reports whether hijack may succeed for r, without trying.
func canHijack(w http.ResponseWriter, r *http.Request) bool {
	if r.ProtoMajor != 1 || r.Method != http.MethodGet {
		return false
	}
	for {
		switch u := w.(type) {
		case http.Hijacker:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = u.Unwrap()
		default:
			return false
		}
	}
}

// Header fields net/http would manage, which the response head sets itself.
var managedFields = map[string]bool{"Connection": true, "Content-Length": true, "Transfer-Encoding": true, "Date": true, "Keep-Alive": true}

// appendHead appends the status line (HTTP/1.1 if http11, else HTTP/1.0)
// and header of a response with the header h (see appendFields) and a
// Date, and then extra, which holds the framing fields and ends with the
// blank line.
func appendHead(dst []byte, http11 bool, status int, h http.Header, extra string) []byte {
	return appendHeadFields(dst, http11, status, appendFields(nil, h), extra)
}

// appendHeadFields is appendHead with the header's fields as appendFields
// wrote them.
func appendHeadFields(dst []byte, http11 bool, status int, fields []byte, extra string) []byte {
	if http11 {
		dst = append(dst, "HTTP/1.1 "...)
	} else {
		dst = append(dst, "HTTP/1.0 "...)
	}
	dst = append(dst, statusLine(status)...)
	dst = append(dst, fields...)
	dst = append(dst, "Date: "...)
	dst = time.Now().UTC().AppendFormat(dst, http.TimeFormat)
	dst = append(dst, "\r\n"...)
	return append(dst, extra...)
}

// appendFields appends the fields of h, but for those the head sets itself
// (managedFields), sanitized as net/http does: a value's line breaks
// become spaces.
func appendFields(dst []byte, h http.Header) []byte {
	b := bytes.NewBuffer(dst)
	h.WriteSubset(b, managedFields)
	return b.Bytes()
}

// textFields are the fields of a plain-text error answer.
var textFields = appendFields(nil, http.Header{"Content-Type": {"text/plain; charset=utf-8"}})

// statusLine is the status code and reason of a status line, with CRLF.
func statusLine(status int) string {
	switch status {
	case http.StatusOK:
		return "200 OK\r\n"
	case http.StatusServiceUnavailable:
		return "503 Service Unavailable\r\n"
	}
	return "500 Internal Server Error\r\n"
}

// h1Output writes a streamed response to a connection taken from
// net/http: the head with the first write, then each write as one chunk
// (HTTP/1.1) or as it is (HTTP/1.0, the end of the body being the close),
// each under a fresh write deadline.
type h1Output struct {
	nc      net.Conn
	head    []byte // written with the first write, then nil
	chunked bool
	timeout time.Duration
	peer    *peerWatch
	closed  bool // the connection is closed (end)
}

// newH1Output returns the output of a stream to r on nc, whose head has
// the header h.
func newH1Output(nc net.Conn, r *http.Request, h http.Header, timeout time.Duration) *h1Output {
	o := &h1Output{nc: nc, chunked: r.ProtoAtLeast(1, 1), timeout: timeout}
	extra := "Connection: close\r\n\r\n"
	if o.chunked {
		// RFC 9112 §7.1: "Transfer-Encoding: chunked", a body of
		// chunks; the connection closes after the last one.
		extra = "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	}
	o.head = appendHead(nil, o.chunked, http.StatusOK, h, extra)
	return o
}

func (o *h1Output) deadline() {
	if o.timeout > 0 {
		o.nc.SetWriteDeadline(time.Now().Add(o.timeout))
	}
}

func (o *h1Output) write(buf []byte) error {
	var b []byte
	if o.chunked {
		b = appendChunk(buf)
	} else {
		b = buf[chunkReserve:]
	}
	o.deadline()
	if o.head != nil {
		bufs := net.Buffers{o.head, b}
		o.head = nil
		_, err := bufs.WriteTo(o.nc)
		return err
	}
	_, err := o.nc.Write(b)
	return err
}

// end writes the last chunk (RFC 9112 §7.1: a chunk of size zero and the
// empty trailer section) when the stream ends cleanly, and closes the
// connection.
func (o *h1Output) end(why endReason, err error) {
	if endsCleanly(why, err) {
		var last []byte
		if o.head != nil {
			last = o.head
		}
		if o.chunked {
			last = append(last, "0\r\n\r\n"...)
		}
		if len(last) > 0 {
			o.deadline()
			o.nc.Write(last)
		}
	}
	if o.peer != nil {
		o.peer.stop()
	}
	o.nc.Close()
	o.closed = true
}

// peerWatch calls gone once the client of a connection taken from
// net/http has closed it, shut down its side or broken it: the job of
// net/http's background reader, without a goroutine where netpoll works.
// What the client sends meanwhile (nothing, for a stream or a poll) is
// read and dropped.
type peerWatch struct {
	nc   net.Conn
	gone func()
	w    *netpoll.Watch // nil: a goroutine reads instead
	// blocking: readiness only says that bytes came (TLS records); a
	// goroutine then reads through nc.
	blocking bool
	once     sync.Once
}

// maxDiscard bounds what one readiness reads and drops before arming
// again, so that a client that keeps sending shares the workers.
const maxDiscard = 64 << 10

// watchPeer starts watching nc.
func watchPeer(nc net.Conn, gone func()) *peerWatch {
	p := &peerWatch{nc: nc, gone: gone}
	raw := nc
	if u, ok := nc.(interface{ NetConn() net.Conn }); ok { // *tls.Conn
		raw, p.blocking = u.NetConn(), true
	}
	w, err := netpoll.Default().WatchHandler(raw, p)
	if err != nil {
		go p.read()
		return p
	}
	p.w = w
	if err := w.Arm(); err != nil {
		p.goneOnce()
	}
	return p
}

// Ready is the netpoll callback (p is the watch's netpoll.Handler).
func (p *peerWatch) Ready(netpoll.Event) {
	if p.blocking {
		go p.read()
		return
	}
	var buf [512]byte
	for n := 0; n < maxDiscard; {
		k, err := p.w.TryRead(buf[:])
		switch {
		case err == nil:
			n += k
			continue
		case errors.Is(err, netpoll.ErrWouldBlock):
			if p.w.Arm() != nil {
				p.goneOnce()
			}
			return
		case errors.Is(err, netpoll.ErrUnsupported):
			go p.read()
			return
		}
		p.goneOnce() // EOF or an error
		return
	}
	if p.w.Arm() != nil {
		p.goneOnce()
	}
}

// read reads and drops until the client is gone: the fallback where the
// connection cannot be watched (a wrapped or TLS connection).
func (p *peerWatch) read() {
	var buf [512]byte
	for {
		if _, err := p.nc.Read(buf[:]); err != nil {
			if !errors.Is(err, io.ErrShortBuffer) {
				p.goneOnce()
				return
			}
		}
	}
}

func (p *peerWatch) goneOnce() { p.once.Do(p.gone) }

// stop ends the watch, before the connection is closed; a reading
// goroutine ends with the close.
func (p *peerWatch) stop() {
	if p.w != nil {
		p.w.Stop()
	}
}
