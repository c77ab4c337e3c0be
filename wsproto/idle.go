package wsproto

import (
	"errors"
	"net"

	"github.com/pushwire/pushwire/internal/netpoll"
	"github.com/pushwire/pushwire/internal/wsidle"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// Idle connections without a goroutine: internal/wsidle parks a Conn
// between two messages, through these hooks, so that the exported API does
// not grow. The Conn's share is its idle field, the end of Handler's serve
// (serveReturned), and idleFill.

func init() {
	wsidle.Register(wsidle.Hooks{
		State:   func(x any) *wsidle.State { return &x.(*Conn).idle },
		NetConn: func(x any) net.Conn { return x.(*Conn).nc },
		Fill:    func(x any, try func([]byte) (int, error)) bool { return x.(*Conn).idleFill(try) },
		OnClose: func(x any, f func()) { x.(*Conn).onClose(f) },
	})
}

// serveReturned ends the connection when Handler's serve function
// returns, unless the connection was parked (wsidle): its reader closes
// it then.
func (c *Conn) serveReturned() {
	if !c.idle.Detached() {
		c.CloseNow()
	}
}

// idleFill is wsidle's Fill: whether Read would find input without
// waiting; if not, the pooled read buffer goes back and try reads what
// the socket has into the buffer left (the small array of the Conn, or
// the pooled buffer while data flows).
func (c *Conn) idleFill(try func([]byte) (int, error)) bool {
	select {
	case c.rlock <- struct{}{}:
	default:
		return true // a read is in progress
	}
	defer unlock(c.rlock)
	if c.inMessage || c.frameLeft > 0 || c.rpos < c.rend || c.isClosed() || c.ended() != nil {
		return true
	}
	for range 16 { // bounded: a peer that keeps sending pongs is read by Read
		c.rpos, c.rend = 0, 0
		n, err := try(c.rbuf)
		if n == 0 {
			if errors.Is(err, netpoll.ErrWouldBlock) {
				c.flowing = false
				c.releaseReadBuffer()
				return false
			}
			return true // EOF or an error: Read reports it
		}
		c.flowing = n == len(c.rbuf)
		c.rend = n
		if !c.idlePongs() {
			return true
		}
	}
	return true
}

// idlePongs handles the whole pong frames at the start of the buffered
// input, the answers to the pings of a heartbeat or a keep-alive, so that
// they do not wake the reader; it reports whether that consumed all of
// it. Anything else is left to Read.
func (c *Conn) idlePongs() bool {
	for c.rpos < c.rend {
		b := c.rbuf[c.rpos:c.rend]
		hs := frame.HeaderSize(b)
		if len(b) < 2 || len(b) < hs {
			return false
		}
		h, err := frame.ParseHeader(b[:hs])
		from := frame.FromClient
		if c.client {
			from = frame.FromServer
		}
		if err != nil || h.Opcode != frame.OpPong || frame.CheckHeader(h, c.rsvAllowed, from) != nil || int64(len(b)-hs) < h.Length {
			return false
		}
		payload := b[hs : hs+int(h.Length)]
		c.rpos += hs + int(h.Length)
		if h.Masked {
			frame.Mask(h.Mask, 0, payload)
		}
		c.handleControl(frame.OpPong, payload) // a pong never fails
	}
	return true
}
