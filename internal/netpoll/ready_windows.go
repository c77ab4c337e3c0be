package netpoll

import (
	"fmt"
	"syscall"
)

// supported: sockets can be watched here.
const supported = true

// readinessCheck is the function the portable implementation gives
// RawConn.Read. On Windows RawConn.Read waits with a zero-byte read, which
// completes when data (or the end) is there: the first call declines, the
// one after the wait accepts.
type readinessCheck struct {
	ev    Event
	calls int
}

func (c *readinessCheck) check(uintptr) bool {
	c.calls++
	c.ev = Readable
	return c.calls > 1
}

func tryRead(syscall.RawConn, []byte) (int, error) {
	return 0, fmt.Errorf("%w: non-blocking reads on Windows", ErrUnsupported)
}
