// Package goaway ends a WebSocket client's connection properly when its
// context ends: with a close frame carrying 1001 Going Away (RFC 6455
// §7.4.1, "an endpoint is going away"), not a dropped TCP connection. The
// reconnecting clients of httpstream and wsproto/reconnect use it for the
// connection they read, whose reads take no context of their own.
package goaway

import (
	"context"

	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// OnDone starts the closing handshake of c with 1001 Going Away once ctx is
// done, which ends the reads in progress on c. The returned stop cancels
// that if it has not started, or waits for the closing handshake to end
// if it has; call it, deferred, before letting c go, so that no goroutine
// outlives the connection's use.
func OnDone(ctx context.Context, c *wsproto.Conn) (stop func()) {
	closed := make(chan struct{})
	cancel := context.AfterFunc(ctx, func() {
		defer close(closed)
		c.Close(frame.CloseGoingAway, "")
	})
	return func() {
		if !cancel() {
			<-closed
		}
	}
}
