package peers

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/lxzan/gws"
	"github.com/pushwire/pushwire/peers/internal/benchsrv"
)

// GWS is github.com/lxzan/gws, an event-driven library: a read loop calls
// the application's handler.
func GWS() *Impl {
	deflate := func(on bool) gws.PermessageDeflate {
		return gws.PermessageDeflate{Enabled: on, ServerContextTakeover: true, ClientContextTakeover: true}
	}
	return &Impl{
		Name:        "gws",
		Compression: true,
		Server: func(opts Options, serve func(Conn)) http.Handler {
			up := gws.NewUpgrader(gwsEvents{}, &gws.ServerOption{
				SubProtocols:       opts.Subprotocols,
				ReadMaxPayloadSize: MaxMessage,
				CheckUtf8Enabled:   true,
				PermessageDeflate:  deflate(opts.Compress),
			})
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := up.Upgrade(w, r)
				if err != nil {
					return
				}
				gc := &gwsConn{c: c, pump: newPump(), ext: w.Header().Get("Sec-WebSocket-Extensions")}
				c.Session().Store("conn", gc)
				go c.ReadLoop()
				serve(gc)
				c.NetConn().Close()
			})
		},
		Dial: func(ctx context.Context, url string, opts Options) (Conn, error) {
			h := http.Header{}
			if len(opts.Subprotocols) > 0 {
				h.Set("Sec-WebSocket-Protocol", strings.Join(opts.Subprotocols, ", "))
			}
			gc := &gwsConn{pump: newPump()}
			c, resp, err := gws.NewClient(gwsEvents{}, &gws.ClientOption{
				Addr:               url,
				RequestHeader:      h,
				ReadMaxPayloadSize: MaxMessage,
				CheckUtf8Enabled:   true,
				PermessageDeflate:  deflate(opts.Compress),
			})
			if err != nil {
				return nil, err
			}
			gc.c = c
			gc.ext = resp.Header.Get("Sec-WebSocket-Extensions")
			c.Session().Store("conn", gc)
			go c.ReadLoop()
			return gc, nil
		},
		Echo: func(compress bool) http.Handler {
			up := gws.NewUpgrader(gwsEcho{}, &gws.ServerOption{
				ReadMaxPayloadSize: MaxMessage,
				CheckUtf8Enabled:   true,
				PermessageDeflate:  deflate(compress),
			})
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := up.Upgrade(w, r)
				if err != nil {
					return
				}
				// gws's documented pattern: the read loop on a new goroutine.
				go c.ReadLoop()
			})
		},
		ReadClient: func(ctx context.Context, url string, n int) (int64, error) {
			r := &gwsCounter{want: n, done: make(chan struct{})}
			c, _, err := gws.NewClient(r, &gws.ClientOption{Addr: url, ReadMaxPayloadSize: MaxMessage})
			if err != nil {
				return 0, err
			}
			go c.ReadLoop()
			defer c.NetConn().Close()
			select {
			case <-r.done:
				return r.total, r.err
			case <-ctx.Done():
				return r.total, ctx.Err()
			}
		},
		Broadcast: func() (http.Handler, func([]byte) error, func() int) {
			g := &gwsGroup{}
			up := gws.NewUpgrader(g, &gws.ServerOption{})
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := up.Upgrade(w, r)
				if err != nil {
					return
				}
				g.Add(c)
				go c.ReadLoop()
			})
			send := func(p []byte) error {
				b := gws.NewBroadcaster(gws.OpcodeBinary, p)
				defer b.Close()
				return benchsrv.FanOut(g.List(), b.Broadcast)
			}
			return h, send, g.Len
		},
	}
}

type gwsGroup struct {
	gws.BuiltinEventHandler
	benchsrv.Group[*gws.Conn]
}

func (g *gwsGroup) OnClose(c *gws.Conn, _ error) { g.Remove(c) }

type gwsEcho struct{ gws.BuiltinEventHandler }

func (gwsEcho) OnPing(c *gws.Conn, p []byte) { _ = c.WritePong(p) }

func (gwsEcho) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	_ = c.WriteMessage(m.Opcode, m.Bytes())
}

type gwsCounter struct {
	gws.BuiltinEventHandler
	want, n int
	total   int64
	err     error
	done    chan struct{}
}

func (r *gwsCounter) OnMessage(_ *gws.Conn, m *gws.Message) {
	r.total += int64(m.Data.Len())
	m.Close()
	r.n++
	if r.n == r.want {
		close(r.done)
	}
}

func (r *gwsCounter) OnClose(_ *gws.Conn, err error) {
	if r.n < r.want {
		r.err = err
		close(r.done)
	}
}

// gwsEvents routes a connection's events to its gwsConn.
type gwsEvents struct{}

func conn(c *gws.Conn) *gwsConn {
	v, _ := c.Session().Load("conn")
	gc, _ := v.(*gwsConn)
	return gc
}

func (gwsEvents) OnOpen(*gws.Conn) {}

func (gwsEvents) OnClose(c *gws.Conn, err error) {
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		err = &CloseError{Code: int(ce.Code), Reason: string(ce.Reason)}
		if ce.Code == 0 {
			err = &CloseError{Code: 1005}
		}
	}
	if gc := conn(c); gc != nil {
		gc.end(err)
	}
}

// OnPing answers with the ping's payload, as RFC 6455 §5.5.3 asks (gws's
// built-in handler answers with an empty pong).
func (gwsEvents) OnPing(c *gws.Conn, p []byte) { _ = c.WritePong(p) }

func (gwsEvents) OnPong(c *gws.Conn, p []byte) {
	if gc := conn(c); gc != nil {
		gc.pong(p)
	}
}

func (gwsEvents) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	if gc := conn(c); gc != nil {
		gc.deliver(int(m.Opcode), m.Bytes())
	}
}

type gwsConn struct {
	c   *gws.Conn
	ext string
	*pump
}

func (c *gwsConn) Subprotocol() string { return c.c.SubProtocol() }
func (c *gwsConn) Extensions() string  { return c.ext }

func (c *gwsConn) Write(typ int, p []byte) error {
	return c.c.WriteMessage(gws.Opcode(typ), p)
}

// WriteFragmented uses WriteFile, gws's segmented writer (128 KiB frames).
func (c *gwsConn) WriteFragmented(typ int, p []byte) error {
	return c.c.WriteFile(gws.Opcode(typ), bytes.NewReader(p))
}

func (c *gwsConn) Ping(ctx context.Context, payload []byte) error {
	if err := c.c.WritePing(payload); err != nil {
		return err
	}
	return c.waitPong(ctx, payload)
}

// Close sends the close frame; gws closes the TCP connection right after it
// without waiting for the peer's answer.
func (c *gwsConn) Close(code int, reason string) error {
	err := c.c.WriteClose(uint16(code), []byte(reason))
	if werr := c.waitDone(); err == nil {
		err = werr
	}
	return err
}

func (c *gwsConn) CloseNow() { c.c.NetConn().Close() }
