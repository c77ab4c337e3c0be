//go:build !unix && !windows

package netpoll

import (
	"fmt"
	"syscall"
)

// supported: Plan 9, js and wasip1 have no readiness to wait for.
const supported = false

type readinessCheck struct{ ev Event }

func (c *readinessCheck) check(uintptr) bool { return true }

func tryRead(syscall.RawConn, []byte) (int, error) {
	return 0, fmt.Errorf("%w on this platform", ErrUnsupported)
}
