//go:build unix

package wsproto

import (
	"net"
	"syscall"
)

// rawWriter writes to a TCP or Unix socket without ever blocking: it takes
// what the socket's send buffer has room for and reports how much that was.
// Group uses it so that Broadcast writes to every connection that can take
// a message at once, from the calling goroutine (or its helpers).
//
// It writes inside RawConn.Control, not RawConn.Write: Control holds a
// reference to the descriptor, so that a concurrent Close cannot release
// the descriptor number during the write, but it does not take the
// descriptor's write lock nor prepare the netpoller for a wait that never
// comes (RawConn.Write touches the runtime's pollDesc for that, one more
// cache line per connection and broadcast). The caller holds the Conn's
// write locks, which keep every other writer of the connection out.
type rawWriter struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) // w.do, made once
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
	// An error of Control means the descriptor is closed: nothing is
	// written and the queue's blocking write finds the error again.
	w.rc.Control(w.fn)
	w.b = nil
	return w.n
}

// do writes w.b to fd until it is written or the socket takes no more.
func (w *rawWriter) do(fd uintptr) {
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
			return
		case m <= 0:
			return
		}
	}
}
