//go:build !unix

package wsproto

import "net"

// rawWriter is not available here: every Group message goes through the
// connection's queue and its goroutine.
type rawWriter struct{}

// init reports that w cannot write to nc.
func (*rawWriter) init(net.Conn) bool { return false }

func (*rawWriter) write([]byte) int { return 0 }
