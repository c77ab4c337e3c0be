package wsproto

import (
	"context"
	"errors"
	"github.com/pushwire/pushwire/wsproto/frame"
	"io"
	"net"
	"sync"
	"time"
)

// NetConn returns a net.Conn that carries a byte stream over c: each Write
// is sent as one message of type typ, and Read returns the payloads of the
// messages received, one after the other, as a continuous stream. The
// deadlines of the net.Conn apply to its Read and Write. A close frame with
// code 1000 or 1001 from the peer reads as io.EOF. Close starts the closing
// handshake with code 1000.
//
// Use it to run stream protocols (TLS, HTTP/1, an RPC framing) over a
// WebSocket. Do not use c directly while the net.Conn is in use.
func NetConn(c *Conn, typ MessageType) net.Conn {
	return &netConn{c: c, typ: typ}
}

type netConn struct {
	c   *Conn
	typ MessageType

	rmu sync.Mutex
	r   io.Reader
	eof bool
}

func (n *netConn) Read(p []byte) (int, error) {
	n.rmu.Lock()
	defer n.rmu.Unlock()
	if n.eof {
		return 0, io.EOF
	}
	for {
		if n.r == nil {
			_, r, err := n.c.Reader(context.Background())
			if err != nil {
				return 0, n.readErr(err)
			}
			n.r = r
		}
		m, err := n.r.Read(p)
		if err == io.EOF {
			n.r = nil
			if m > 0 || len(p) == 0 {
				return m, nil
			}
			continue
		}
		if err != nil {
			return m, n.readErr(err)
		}
		return m, nil
	}
}

// readErr maps a normal close to io.EOF.
func (n *netConn) readErr(err error) error {
	var ce frame.CloseError
	if errors.As(err, &ce) && (ce.Code == frame.CloseNormal || ce.Code == frame.CloseGoingAway) {
		n.eof = true
		return io.EOF
	}
	return err
}

func (n *netConn) Write(p []byte) (int, error) {
	if err := n.c.Write(context.Background(), n.typ, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (n *netConn) Close() error {
	err := n.c.Close(frame.CloseNormal, "")
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func (n *netConn) LocalAddr() net.Addr  { return n.c.LocalAddr() }
func (n *netConn) RemoteAddr() net.Addr { return n.c.RemoteAddr() }

func (n *netConn) SetDeadline(t time.Time) error {
	if err := n.SetReadDeadline(t); err != nil {
		return err
	}
	return n.SetWriteDeadline(t)
}

func (n *netConn) SetReadDeadline(t time.Time) error {
	return n.c.rwatch.setAdapterDeadline(t)
}

func (n *netConn) SetWriteDeadline(t time.Time) error {
	return n.c.wwatch.setAdapterDeadline(t)
}
