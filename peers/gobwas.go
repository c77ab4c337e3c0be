package peers

import (
	"bufio"
	"compress/flate"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
	"github.com/gobwas/ws/wsutil"
	"github.com/pushwire/pushwire/peers/internal/benchsrv"
)

// Gobwas is github.com/gobwas/ws, a codec with helpers (wsutil) on which the
// application builds its own read loop.
func Gobwas() *Impl {
	return &Impl{
		Name: "gobwas",
		Server: func(opts Options, serve func(Conn)) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				up := ws.HTTPUpgrader{Protocol: func(p string) bool { return slices.Contains(opts.Subprotocols, p) }}
				conn, rw, hs, err := up.Upgrade(r, w)
				if err != nil {
					return
				}
				gc := newGobwasConn(conn, rw.Reader, ws.StateServerSide, hs.Protocol)
				serve(gc)
				conn.Close()
			})
		},
		Dial: func(ctx context.Context, url string, opts Options) (Conn, error) {
			d := ws.Dialer{Protocols: opts.Subprotocols}
			conn, br, hs, err := d.Dial(ctx, url)
			if err != nil {
				return nil, err
			}
			var src io.Reader = conn
			if br != nil {
				src = br
			}
			return newGobwasConn(conn, src, ws.StateClientSide, hs.Protocol), nil
		},
		Echo: func(compress bool) http.Handler {
			if compress {
				return gobwasDeflateEcho()
			}
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conn, _, _, err := ws.UpgradeHTTP(r, w)
				if err != nil {
					return
				}
				defer conn.Close()
				for {
					msg, op, err := wsutil.ReadClientData(conn)
					if err != nil {
						return
					}
					if err := wsutil.WriteServerMessage(conn, op, msg); err != nil {
						return
					}
				}
			})
		},
		ReadClient: func(ctx context.Context, url string, n int) (int64, error) {
			conn, br, _, err := ws.Dial(ctx, url)
			if err != nil {
				return 0, err
			}
			defer conn.Close()
			rw := struct {
				io.Reader
				io.Writer
			}{conn, conn}
			if br != nil {
				rw.Reader = br
			}
			var total int64
			for range n {
				msg, _, err := wsutil.ReadServerData(rw)
				if err != nil {
					return total, err
				}
				total += int64(len(msg))
			}
			return total, nil
		},
		Broadcast: func() (http.Handler, func([]byte) error, func() int) {
			var g benchsrv.Group[*gobwasBC]
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				conn, _, _, err := ws.UpgradeHTTP(r, w)
				if err != nil {
					return
				}
				defer conn.Close()
				b := &gobwasBC{c: conn}
				g.Add(b)
				defer g.Remove(b)
				rw := struct {
					io.Reader
					io.Writer
				}{conn, b}
				for {
					if _, _, err := wsutil.ReadClientData(rw); err != nil {
						return
					}
				}
			})
			send := func(p []byte) error {
				// gobwas's prepared message: a frame compiled once.
				frame, err := ws.CompileFrame(ws.NewBinaryFrame(p))
				if err != nil {
					return err
				}
				return benchsrv.FanOut(g.List(), func(b *gobwasBC) error {
					_, err := b.Write(frame)
					return err
				})
			}
			return h, send, g.Len
		},
	}
}

// gobwasDeflateEcho is an echo server with permessage-deflate built from
// gobwas's wsflate pieces as its documentation shows: the extension
// negotiated with wsflate.DefaultParameters (no context takeover either
// way), a wsutil.Reader and Writer carrying the message's compressed bit,
// and a wsflate Reader and Writer around them. The compression level is
// flate.BestSpeed, the other libraries' default. Gobwas has no
// permessage-deflate in its Server and Dial adapters (Impl.Compression is
// false), so only the benchmarks use it.
func gobwasDeflateEcho() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := wsflate.Extension{Parameters: wsflate.DefaultParameters}
		up := ws.HTTPUpgrader{Negotiate: e.Negotiate}
		conn, rw, _, err := up.Upgrade(r, w)
		if err != nil {
			return
		}
		defer conn.Close()
		var src io.Reader = conn
		if rw != nil && rw.Reader != nil {
			src = rw.Reader
		}
		var msg wsflate.MessageState
		rd := wsutil.Reader{
			Source:         src,
			State:          ws.StateServerSide | ws.StateExtended,
			Extensions:     []wsutil.RecvExtension{&msg},
			OnIntermediate: wsutil.ControlFrameHandler(conn, ws.StateServerSide),
		}
		control := wsutil.ControlFrameHandler(conn, ws.StateServerSide)
		wr := wsutil.NewWriter(conn, ws.StateServerSide|ws.StateExtended, 0)
		wr.SetExtensions(&msg)
		fr := wsflate.NewReader(nil, func(r io.Reader) wsflate.Decompressor { return flate.NewReader(r) })
		fw := wsflate.NewWriter(nil, func(w io.Writer) wsflate.Compressor {
			f, _ := flate.NewWriter(w, flate.BestSpeed)
			return f
		})
		for {
			h, err := rd.NextFrame()
			if err != nil {
				return
			}
			if h.OpCode.IsControl() {
				if err := control(h, &rd); err != nil {
					return
				}
				continue
			}
			wr.ResetOp(h.OpCode)
			if msg.IsCompressed() {
				fr.Reset(&rd)
				fw.Reset(wr)
				if _, err := io.Copy(fw, fr); err != nil {
					return
				}
				if err := fw.Close(); err != nil {
					return
				}
			} else if _, err := io.Copy(wr, &rd); err != nil {
				return
			}
			if err := wr.Flush(); err != nil {
				return
			}
		}
	})
}

type gobwasBC struct {
	mu sync.Mutex
	c  net.Conn
}

func (b *gobwasBC) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.c.Write(p)
}

type gobwasConn struct {
	mu    sync.Mutex // serializes whole frames
	conn  net.Conn
	state ws.State
	proto string
	sent  atomic.Bool // a close frame was sent
	*pump
}

func newGobwasConn(conn net.Conn, src io.Reader, state ws.State, proto string) *gobwasConn {
	gc := &gobwasConn{conn: conn, state: state, proto: proto, pump: newPump()}
	if br, ok := src.(*bufio.Reader); ok && br == nil {
		src = conn
	}
	go gc.read(src)
	return gc
}

// writeFrame writes one frame, masked on the client side.
func (c *gobwasConn) writeFrame(op ws.OpCode, fin bool, p []byte) error {
	f := ws.NewFrame(op, fin, slices.Clone(p))
	if c.state.ClientSide() {
		f = ws.MaskFrameInPlace(f)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return ws.WriteFrame(c.conn, f)
}

// control handles a control frame: pong answers ping, close is echoed.
func (c *gobwasConn) control(h ws.Header, r io.Reader) error {
	payload, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	switch h.OpCode {
	case ws.OpPing:
		return c.writeFrame(ws.OpPong, true, payload)
	case ws.OpPong:
		c.pong(payload)
		return nil
	case ws.OpClose:
		code, reason := ws.ParseCloseFrameData(payload)
		if len(payload) == 0 {
			code = 1005
		}
		// RFC 6455 §5.5.1: echo the status code received.
		if !c.sent.Swap(true) {
			var reply []byte
			if len(payload) > 0 {
				reply = ws.NewCloseFrameBody(code, "")
			}
			c.writeFrame(ws.OpClose, true, reply)
		}
		return wsutil.ClosedError{Code: code, Reason: reason}
	}
	return nil
}

func (c *gobwasConn) read(src io.Reader) {
	rd := &wsutil.Reader{Source: src, State: c.state, CheckUTF8: true, MaxMessageSize: MaxMessage, OnIntermediate: c.control}
	var err error
	for {
		var h ws.Header
		h, err = rd.NextFrame()
		if err != nil {
			break
		}
		if h.OpCode.IsControl() {
			if err = c.control(h, rd); err != nil {
				break
			}
			continue
		}
		var msg []byte
		msg, err = io.ReadAll(rd)
		if err != nil {
			break
		}
		c.deliver(int(h.OpCode), msg)
	}
	var ce wsutil.ClosedError
	if errors.As(err, &ce) {
		err = &CloseError{Code: int(ce.Code), Reason: ce.Reason}
	}
	c.end(err)
}

func (c *gobwasConn) Subprotocol() string { return c.proto }
func (c *gobwasConn) Extensions() string  { return "" }

func (c *gobwasConn) Write(typ int, p []byte) error {
	return c.writeFrame(ws.OpCode(typ), true, p)
}

// WriteFragmented writes the frames itself: gobwas's codec is the API.
func (c *gobwasConn) WriteFragmented(typ int, p []byte) error {
	parts := chunks(p, FragmentSize)
	op := ws.OpCode(typ)
	for i, b := range parts {
		if err := c.writeFrame(op, i == len(parts)-1, b); err != nil {
			return err
		}
		op = ws.OpContinuation
	}
	return nil
}

func (c *gobwasConn) Ping(ctx context.Context, payload []byte) error {
	if err := c.writeFrame(ws.OpPing, true, payload); err != nil {
		return err
	}
	return c.waitPong(ctx, payload)
}

func (c *gobwasConn) Close(code int, reason string) error {
	var body []byte
	if code != 1005 {
		body = ws.NewCloseFrameBody(ws.StatusCode(code), reason)
	}
	c.sent.Store(true)
	if err := c.writeFrame(ws.OpClose, true, body); err != nil {
		return err
	}
	err := c.waitDone()
	c.conn.Close()
	return err
}

func (c *gobwasConn) CloseNow() { c.conn.Close() }
