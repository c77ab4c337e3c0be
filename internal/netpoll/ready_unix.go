//go:build unix

package netpoll

import (
	"io"
	"os"
	"sync"
	"syscall"
)

// supported: sockets can be watched here.
const supported = true

// readinessCheck is the function the portable implementation gives
// RawConn.Read.
type readinessCheck struct{ ev Event }

// check reports whether the socket is readable, with a non-blocking
// one-byte MSG_PEEK that consumes nothing (Go's sockets are non-blocking:
// nothing to read is EAGAIN). RawConn.Read forgets a readiness that came
// before it was called, so it must be asked rather than assumed.
func (c *readinessCheck) check(fd uintptr) bool {
	var b [1]byte
	for {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			return false
		case err != nil, n == 0: // an error pending, or the end of the input
			c.ev = Readable | HangUp
		default:
			c.ev = Readable
		}
		return true
	}
}

// reader is a non-blocking read, kept in a pool so that TryRead allocates
// nothing.
type reader struct {
	p   []byte
	n   int
	err error
	fn  func(uintptr) bool // r.read, bound once
}

func (r *reader) read(fd uintptr) bool {
	for {
		r.n, r.err = syscall.Read(int(fd), r.p)
		if r.err != syscall.EINTR {
			return true // never wait
		}
	}
}

var readers = sync.Pool{New: func() any {
	r := &reader{}
	r.fn = r.read
	return r
}}

func tryRead(rc syscall.RawConn, p []byte) (int, error) {
	r := readers.Get().(*reader)
	r.p = p
	err := rc.Read(r.fn)
	n, rerr := r.n, r.err
	r.p, r.err = nil, nil
	readers.Put(r)
	switch {
	case err != nil:
		return 0, err
	case rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK:
		return 0, ErrWouldBlock
	case rerr != nil:
		return 0, os.NewSyscallError("read", rerr)
	case n <= 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}
