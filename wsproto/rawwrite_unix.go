//go:build unix

package wsproto

import (
	"net"
	"syscall"
)

// rawWriter writes to a TCP or Unix socket without ever blocking: it takes
// what the socket's send buffer has room for and reports how much that was.
// Group uses it so that Broadcast writes to every connection that can take
// a message at once, from the calling goroutine.
type rawWriter struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool // w.do, made once
	b   []byte
	n   int
	err error
}

// init makes w write to nc and reports whether it can: false if nc is not
// a socket this works on (TLS, an HTTP/2 stream). w must not move after.
func (w *rawWriter) init(nc net.Conn) bool {
	var sc syscall.Conn
	switch c := nc.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	w.rc = rc
	w.fn = w.do
	return true
}

// write writes as much of b as the socket takes now and returns how much
// that was. Errors are left for the blocking write that follows a short
// one to find again.
func (w *rawWriter) write(b []byte) int {
	w.b, w.n, w.err = b, 0, nil
	// RawConn.Write holds the descriptor's write lock and honours its
	// write deadline; fn returns true so that it never waits.
	w.rc.Write(w.fn)
	w.b = nil
	return w.n
}

func (w *rawWriter) do(fd uintptr) bool {
	for w.n < len(w.b) {
		m, err := syscall.Write(int(fd), w.b[w.n:])
		if m > 0 {
			w.n += m
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil: // EAGAIN: the send buffer is full
			w.err = err
			return true
		case m <= 0:
			return true
		}
	}
	return true
}
