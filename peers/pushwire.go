package peers

import (
	"context"
	"errors"
	"fmt"

	"net/http"

	"github.com/pushwire/pushwire/internal/wsecho"
	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// Pushwire is the implementation under test.
func Pushwire() *Impl {
	return &Impl{
		Name:        "pushwire",
		Compression: true,
		Server: func(opts Options, serve func(Conn)) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p := newPump()
				ao := &wsproto.AcceptOptions{
					Subprotocols:            opts.Subprotocols,
					InsecureSkipOriginCheck: true,
					ReadLimit:               MaxMessage,
					OnPong:                  p.pong,
				}
				if opts.Compress {
					ao.Compression = &wsproto.CompressionOptions{ClientMaxWindowBits: opts.ClientWindowBits}
				}
				c, err := wsproto.Accept(w, r, ao)
				if err != nil {
					return
				}
				pc := &pwConn{c: c, pump: p}
				go pc.read()
				serve(pc)
				c.CloseNow()
			})
		},
		Dial: func(ctx context.Context, url string, opts Options) (Conn, error) {
			p := newPump()
			do := &wsproto.DialOptions{Subprotocols: opts.Subprotocols, ReadLimit: MaxMessage, OnPong: p.pong}
			if opts.Compress {
				do.Compression = &wsproto.CompressionOptions{}
			}
			c, _, err := wsproto.Dial(ctx, url, do)
			if err != nil {
				return nil, err
			}
			pc := &pwConn{c: c, pump: p}
			go pc.read()
			return pc, nil
		},
		Echo:       pwEcho,
		Idle:       pwIdle,
		ReadClient: pwReadClient,
		Broadcast:  pwBroadcast,
	}
}

type pwConn struct {
	c *wsproto.Conn
	*pump
}

func (c *pwConn) read() {
	var buf []byte
	for {
		typ, msg, err := c.c.Read(context.Background(), buf)
		if err != nil {
			var ce frame.CloseError
			if errors.As(err, &ce) {
				err = &CloseError{Code: int(ce.Code), Reason: ce.Reason}
			}
			c.end(err)
			return
		}
		c.deliver(int(typ), msg)
		buf = wsproto.ReuseBuffer(msg)
	}
}

func (c *pwConn) Subprotocol() string { return c.c.Subprotocol() }
func (c *pwConn) Extensions() string  { return c.c.Extensions() }

func (c *pwConn) Write(typ int, p []byte) error {
	return c.c.Write(context.Background(), wsproto.MessageType(typ), p)
}

func (c *pwConn) WriteFragmented(typ int, p []byte) error {
	w, err := c.c.Writer(context.Background(), wsproto.MessageType(typ))
	if err != nil {
		return err
	}
	for _, b := range chunks(p, FragmentSize) {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return w.Close()
}

func (c *pwConn) Ping(ctx context.Context, payload []byte) error {
	if err := c.c.Ping(ctx, payload); err != nil {
		return err
	}
	return c.waitPong(ctx, payload)
}

func (c *pwConn) Close(code int, reason string) error {
	err := c.c.Close(frame.CloseCode(code), reason)
	if werr := c.waitDone(); err == nil {
		err = werr
	}
	return err
}

func (c *pwConn) CloseNow() { c.c.CloseNow() }

// pwEcho is the echo server of the package documentation (internal/wsecho's
// loop), served from a fresh goroutine as the architecture recommends.
func pwEcho(compress bool) http.Handler {
	opts := &wsproto.AcceptOptions{InsecureSkipOriginCheck: true, ReadLimit: MaxMessage}
	if compress {
		opts.Compression = &wsproto.CompressionOptions{}
	}
	return wsproto.Handler(opts, func(c *wsproto.Conn, _ *http.Request) {
		wsecho.Loop(context.Background(), c)
	})
}

func pwIdle() http.Handler {
	return pwEcho(false)
}

func pwReadClient(ctx context.Context, url string, n int) (int64, error) {
	c, _, err := wsproto.Dial(ctx, url, &wsproto.DialOptions{ReadLimit: MaxMessage})
	if err != nil {
		return 0, err
	}
	defer c.CloseNow()
	var total int64
	var buf []byte
	for range n {
		_, msg, err := c.Read(ctx, buf)
		if err != nil {
			return total, err
		}
		total += int64(len(msg))
		buf = wsproto.ReuseBuffer(msg)
	}
	return total, nil
}

func pwBroadcast() (http.Handler, func([]byte) error, func() int) {
	// The Group does what the other libraries' loops do by hand: members
	// join on accept and leave on close, and Broadcast writes one frame to
	// all of them.
	g := wsproto.NewGroup(nil)
	h := wsproto.Handler(&wsproto.AcceptOptions{InsecureSkipOriginCheck: true, Group: g}, func(c *wsproto.Conn, r *http.Request) {
		var buf []byte
		for {
			_, msg, err := c.Read(context.Background(), buf)
			if err != nil {
				return
			}
			buf = wsproto.ReuseBuffer(msg)
		}
	})
	send := func(p []byte) error {
		pm, err := wsproto.NewPreparedMessage(wsproto.MessageBinary, p)
		if err != nil {
			return err
		}
		if n, want := g.Broadcast(pm, nil), g.Len(); n != want {
			return fmt.Errorf("broadcast reached %d of %d connections", n, want)
		}
		return nil
	}
	return h, send, g.Len
}
