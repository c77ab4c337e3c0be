// Package wsecho is the WebSocket echo loop that the command's echo server
// and conformance client, the conformance tests and the fuzzers run.
package wsecho

import (
	"context"

	"github.com/pushwire/pushwire/wsproto"
)

// Loop reads every message of c and writes it back with the same type,
// until a read or a write fails, and returns that error (a CloseError when
// the peer closed). The read buffer is reused (wsproto.ReuseBuffer), so a
// steady echo allocates nothing per message, and a connection waiting for
// its next message keeps no buffer over 64 KiB.
func Loop(ctx context.Context, c *wsproto.Conn) error {
	var buf []byte
	for {
		typ, msg, err := c.Read(ctx, buf)
		if err != nil {
			return err
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			return err
		}
		buf = wsproto.ReuseBuffer(msg)
	}
}
