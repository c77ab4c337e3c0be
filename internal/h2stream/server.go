package h2stream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// errHandlerReturned is returned by a write after the handler that
// accepted the stream returned, which ended the stream.
var errHandlerReturned = fmt.Errorf("h2stream: the HTTP handler returned, which ended the HTTP/2 stream: %w", net.ErrClosed)

// aLongTimeAgo is a deadline in the past: setting it resets the stream.
var aLongTimeAgo = time.Unix(1, 0)

// Accept takes over the stream of r, an extended CONNECT request over
// HTTP/2 that the handler has answered with a 2xx status (w.WriteHeader;
// nothing written means 200): it lifts net/http's read and write deadlines
// from the stream, flushes the response header and returns the stream.
//
// The handler must not return before the Conn's Done channel is closed:
// its return ends the stream, and net/http forbids using w afterwards. The
// Conn closes itself when r's context ends (the client reset the stream or
// the connection died).
func Accept(w http.ResponseWriter, r *http.Request) (*Conn, error) {
	if r.ProtoMajor < 2 {
		return nil, fmt.Errorf("h2stream: request over %s, want HTTP/2", r.Proto)
	}
	rc := http.NewResponseController(w)
	// http.Server's ReadTimeout and WriteTimeout become deadlines of the
	// stream that would reset it; the Conn keeps deadlines of its own.
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	// Flush hands the HEADERS frame to net/http's HTTP/2 server, which
	// sends it ahead of every DATA frame of the stream; when the response
	// has no header fields Flush returns before the frame is written, so a
	// RST_STREAM caused right away (a write deadline already past) may
	// overtake it and the client sees a reset instead of the 2xx.
	if err := rc.Flush(); err != nil {
		return nil, fmt.Errorf("h2stream: sending the response header: %w", err)
	}
	var local net.Addr = addr("")
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		local = a
	}
	c := newConn(r.Body, local, addr(r.RemoteAddr))
	ctx := r.Context()
	c.write = func(p []byte) (int, error) {
		// net/http cancels r's context just before it retires w when the
		// handler returns, so this turns a write after that return into
		// an error. A write racing the return is a data race on w, which
		// no check here (and no recover) can make safe: the handler waits
		// for Done instead.
		if ctx.Err() != nil {
			return 0, errHandlerReturned
		}
		n, err := w.Write(p)
		if err == nil {
			err = rc.Flush()
		}
		return n, err
	}
	// A write deadline in the past makes net/http reset the stream at
	// once (RST_STREAM), which wakes the blocked Write.
	c.reset = func() { rc.SetWriteDeadline(aLongTimeAgo) }
	// r's context ends when the client resets the stream, the connection
	// dies or the handler returns: blocked calls must then return. When it
	// has already ended, AfterFunc closes c on another goroutine at once,
	// so c.end is set before and learns the stop function under a lock.
	var stop struct {
		sync.Mutex
		f func() bool
	}
	c.end = func() {
		stop.Lock()
		f := stop.f
		stop.Unlock()
		if f != nil {
			f()
		}
	}
	f := context.AfterFunc(ctx, func() { c.Close() })
	stop.Lock()
	stop.f = f
	stop.Unlock()
	return c, nil
}

// ServerEnabled reports whether net/http's HTTP/2 server in this process
// accepts extended CONNECT, that is whether it sends
// SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3). Without it, net/http
// resets an HTTP/2 request carrying :protocol before any handler sees it.
// (Go 1.26 sends it only when the process started with GODEBUG containing
// http2xconnect=1.)
//
// It asks net/http itself, once per process: an http.Server serves an
// in-memory connection with prior-knowledge HTTP/2, and the SETTINGS frame
// it opens its side with (RFC 9113 §3.4) is read.
func ServerEnabled() bool { return serverEnabled() }

var serverEnabled = sync.OnceValue(func() bool {
	settings, err := serverSettings(5 * time.Second)
	return err == nil && settings[settingEnableConnectProtocol] == 1
})

// HTTP/2 framing, RFC 9113 §4.1 and §6.5.
const (
	clientPreface                = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	frameHeaderLen               = 9
	frameSettings                = 0x4
	flagAck                      = 0x1
	maxSettingsLen               = 16384                                  // SETTINGS_MAX_FRAME_SIZE's initial value
	settingEnableConnectProtocol = 0x8                                    // RFC 8441 §3
	emptySettings                = "\x00\x00\x00\x04\x00\x00\x00\x00\x00" // length 0, SETTINGS, no flags, stream 0
)

// serverSettings returns the settings that an http.Server sends first on
// an HTTP/2 connection, read from an in-memory connection within timeout.
func serverSettings(timeout time.Duration) (map[uint16]uint32, error) {
	client, server := net.Pipe()
	defer client.Close()
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:   http.NotFoundHandler(),
		Protocols: &protos,
		ErrorLog:  log.New(io.Discard, "", 0),
	}
	l := &oneConnListener{conn: server, closed: make(chan struct{})}
	served := make(chan struct{})
	go func() {
		srv.Serve(l)
		close(served)
	}()
	defer func() {
		srv.Close()
		<-served
	}()
	client.SetDeadline(time.Now().Add(timeout))
	// The server may write its SETTINGS before it reads ours: write from
	// another goroutine, since a net.Pipe does not buffer.
	wrote := make(chan error, 1)
	go func() {
		_, err := io.WriteString(client, clientPreface+emptySettings)
		wrote <- err
	}()
	settings, err := readSettings(client)
	client.Close()
	<-wrote
	return settings, err
}

// readSettings reads the first frame of r, which RFC 9113 §3.4 requires to
// be a server's SETTINGS frame, and returns its parameters.
func readSettings(r io.Reader) (map[uint16]uint32, error) {
	var h [frameHeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
	if h[3] != frameSettings || h[4]&flagAck != 0 || n%6 != 0 || n > maxSettingsLen {
		return nil, errors.New("h2stream: the first HTTP/2 frame is not a SETTINGS frame")
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return nil, err
	}
	settings := make(map[uint16]uint32, n/6)
	for i := 0; i < n; i += 6 {
		settings[binary.BigEndian.Uint16(p[i:])] = binary.BigEndian.Uint32(p[i+2:])
	}
	return settings, nil
}

// oneConnListener hands out one connection, then waits to be closed.
type oneConnListener struct {
	mu     sync.Mutex
	conn   net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	c := l.conn
	l.conn = nil
	l.mu.Unlock()
	if c != nil {
		return c, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return addr("pipe") }
