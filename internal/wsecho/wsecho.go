// Package wsecho is the WebSocket echo loop that the command's echo server
// and conformance client, the conformance tests and the fuzzers run.
package wsecho

import (
	"context"
	"sync"

	"github.com/pushwire/pushwire/internal/wsbatch"
	"github.com/pushwire/pushwire/internal/wsidle"

	"github.com/pushwire/pushwire/wsproto"
)

// Loop reads every message of c and writes it back with the same type,
// until a read or a write fails, and returns that error (a CloseError when
// the peer closed). The read buffer is reused (wsproto.ReuseBuffer), so a
// steady echo allocates nothing per message, and a connection waiting for
// its next message keeps no buffer over 64 KiB. Replies to messages that
// arrived together are sent together, in one write (internal/wsbatch); a
// reply is never held while the loop waits for input.
func Loop(ctx context.Context, c *wsproto.Conn) error {
	wsbatch.Enable(c)
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

// Serve echoes c as Loop does, for wsproto.Handler's serve function, but
// holds no goroutine and no read buffer while c waits for its next
// message, where the connection can be watched (internal/wsidle: a TCP
// connection on Linux): the calling goroutine returns then, and a new one
// goes on once the peer sends something. Elsewhere (TLS, HTTP/2) it is
// Loop. c is closed when the echo ends.
func Serve(c *wsproto.Conn) {
	e := &echo{c: c}
	e.resume = e.run
	e.parking = e.release
	wsbatch.Enable(c)
	e.run()
}

// echo is one connection's echo between its goroutines.
type echo struct {
	c       *wsproto.Conn
	pb      *[]byte // the read buffer, from bufs, while the connection is active
	resume  func()  // run, bound once
	parking func()  // release, bound once
}

// release gives the read buffer back to the pool before the connection
// is parked.
func (e *echo) release() {
	if e.pb != nil {
		bufs.Put(e.pb)
		e.pb = nil
	}
}

// bufs holds the read buffers of the connections that are not parked.
var bufs = sync.Pool{New: func() any { return new([]byte) }}

func (e *echo) run() {
	ctx := context.Background()
	for {
		// Replies held back (wsbatch) go out before the connection
		// may park.
		if err := wsbatch.Flush(e.c); err != nil {
			e.fail()
			return
		}
		if wsidle.Park(e.c, e.resume, e.parking) {
			return // e belongs to the next resume
		}
		if e.pb == nil {
			e.pb = bufs.Get().(*[]byte)
		}
		typ, msg, err := e.c.Read(ctx, *e.pb)
		if err == nil {
			err = e.c.Write(ctx, typ, msg)
		}
		if err != nil {
			e.fail()
			return
		}
		*e.pb = wsproto.ReuseBuffer(msg)
	}
}

// fail ends the echo: the read buffer goes back empty, c is closed.
func (e *echo) fail() {
	if e.pb != nil {
		*e.pb = nil
		bufs.Put(e.pb)
		e.pb = nil
	}
	e.c.CloseNow()
}
