//go:build !unix

package wsproto

import "net"

// rawWriter is not available here: every Group message goes through the
// connection's queue and its goroutine.
type rawWriter struct{}

func newRawWriter(net.Conn) *rawWriter { return nil }

func (*rawWriter) write([]byte) int { return 0 }
