package peers

import (
	"context"
	"errors"
	"net/http"

	"github.com/coder/websocket"
	"github.com/pushwire/pushwire/peers/internal/benchsrv"
)

// Coder is github.com/coder/websocket (formerly nhooyr.io/websocket).
func Coder() *Impl {
	mode := func(compress bool) websocket.CompressionMode {
		if compress {
			return websocket.CompressionContextTakeover
		}
		return websocket.CompressionDisabled
	}
	return &Impl{
		Name:        "coder",
		Compression: true,
		Server: func(opts Options, serve func(Conn)) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p := newPump()
				c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
					Subprotocols:       opts.Subprotocols,
					InsecureSkipVerify: true,
					CompressionMode:    mode(opts.Compress),
					OnPongReceived:     func(_ context.Context, b []byte) { p.pong(b) },
				})
				if err != nil {
					return
				}
				cc := &coderConn{c: c, pump: p, ext: w.Header().Get("Sec-WebSocket-Extensions")}
				c.SetReadLimit(MaxMessage)
				go cc.read()
				serve(cc)
				c.CloseNow()
			})
		},
		Dial: func(ctx context.Context, url string, opts Options) (Conn, error) {
			p := newPump()
			c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
				Subprotocols:    opts.Subprotocols,
				CompressionMode: mode(opts.Compress),
				OnPongReceived:  func(_ context.Context, b []byte) { p.pong(b) },
			})
			if err != nil {
				return nil, err
			}
			cc := &coderConn{c: c, pump: p, ext: resp.Header.Get("Sec-WebSocket-Extensions")}
			c.SetReadLimit(MaxMessage)
			go cc.read()
			return cc, nil
		},
		Echo: func(compress bool) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: mode(compress)})
				if err != nil {
					return
				}
				defer c.CloseNow()
				c.SetReadLimit(MaxMessage)
				ctx := context.Background()
				for {
					typ, msg, err := c.Read(ctx)
					if err != nil {
						return
					}
					if err := c.Write(ctx, typ, msg); err != nil {
						return
					}
				}
			})
		},
		ReadClient: func(ctx context.Context, url string, n int) (int64, error) {
			c, _, err := websocket.Dial(ctx, url, nil)
			if err != nil {
				return 0, err
			}
			defer c.CloseNow()
			c.SetReadLimit(MaxMessage)
			var total int64
			for range n {
				_, msg, err := c.Read(ctx)
				if err != nil {
					return total, err
				}
				total += int64(len(msg))
			}
			return total, nil
		},
		Broadcast: func() (http.Handler, func([]byte) error, func() int) {
			var g benchsrv.Group[*websocket.Conn]
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
				if err != nil {
					return
				}
				defer c.CloseNow()
				g.Add(c)
				defer g.Remove(c)
				for {
					if _, _, err := c.Reader(context.Background()); err != nil {
						return
					}
				}
			})
			send := func(p []byte) error {
				return benchsrv.FanOut(g.List(), func(c *websocket.Conn) error {
					return c.Write(context.Background(), websocket.MessageBinary, p)
				})
			}
			return h, send, g.Len
		},
	}
}

type coderConn struct {
	c   *websocket.Conn
	ext string
	*pump
}

func (c *coderConn) read() {
	for {
		typ, msg, err := c.c.Read(context.Background())
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				code := int(ce.Code)
				err = &CloseError{Code: code, Reason: ce.Reason}
			}
			c.end(err)
			return
		}
		c.deliver(int(typ), msg)
	}
}

func (c *coderConn) Subprotocol() string { return c.c.Subprotocol() }
func (c *coderConn) Extensions() string  { return c.ext }

func (c *coderConn) Write(typ int, p []byte) error {
	return c.c.Write(context.Background(), websocket.MessageType(typ), p)
}

func (c *coderConn) WriteFragmented(typ int, p []byte) error {
	w, err := c.c.Writer(context.Background(), websocket.MessageType(typ))
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

// Ping ignores payload: coder chooses its own and checks the echo itself.
func (c *coderConn) Ping(ctx context.Context, _ []byte) error { return c.c.Ping(ctx) }

func (c *coderConn) Close(code int, reason string) error {
	err := c.c.Close(websocket.StatusCode(code), reason)
	if werr := c.waitDone(); err == nil {
		err = werr
	}
	return err
}

func (c *coderConn) CloseNow() { c.c.CloseNow() }
