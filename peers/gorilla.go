package peers

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pushwire/pushwire/peers/internal/benchsrv"
)

// Gorilla is github.com/gorilla/websocket.
func Gorilla() *Impl {
	return &Impl{
		Name:        "gorilla",
		Compression: true,
		Server: func(opts Options, serve func(Conn)) http.Handler {
			up := websocket.Upgrader{
				CheckOrigin:       func(*http.Request) bool { return true },
				Subprotocols:      opts.Subprotocols,
				EnableCompression: opts.Compress,
			}
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := up.Upgrade(w, r, nil)
				if err != nil {
					return
				}
				gc := newGorillaConn(c)
				serve(gc)
				c.Close()
			})
		},
		Dial: func(ctx context.Context, url string, opts Options) (Conn, error) {
			d := websocket.Dialer{Subprotocols: opts.Subprotocols, EnableCompression: opts.Compress}
			c, resp, err := d.DialContext(ctx, url, nil)
			if err != nil {
				return nil, err
			}
			gc := newGorillaConn(c)
			gc.ext = resp.Header.Get("Sec-WebSocket-Extensions")
			return gc, nil
		},
		Echo: func(compress bool) http.Handler {
			up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }, EnableCompression: compress}
			return gorillaEcho(up)
		},
		Idle: func() http.Handler {
			// gorilla's documented way to hold many idle connections:
			// no buffers kept between messages (WriteBufferPool) and the
			// handler's goroutine reading.
			up := websocket.Upgrader{
				CheckOrigin:     func(*http.Request) bool { return true },
				WriteBufferPool: &sync.Pool{},
			}
			return gorillaEcho(up)
		},
		ReadClient: func(ctx context.Context, url string, n int) (int64, error) {
			c, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
			if err != nil {
				return 0, err
			}
			defer c.Close()
			var total int64
			for range n {
				_, msg, err := c.ReadMessage()
				if err != nil {
					return total, err
				}
				total += int64(len(msg))
			}
			return total, nil
		},
		Broadcast: func() (http.Handler, func([]byte) error, func() int) {
			var g benchsrv.Group[*gorillaBC]
			up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }, WriteBufferPool: &sync.Pool{}}
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := up.Upgrade(w, r, nil)
				if err != nil {
					return
				}
				defer c.Close()
				b := &gorillaBC{c: c}
				g.Add(b)
				defer g.Remove(b)
				for {
					if _, _, err := c.NextReader(); err != nil {
						return
					}
				}
			})
			send := func(p []byte) error {
				pm, err := websocket.NewPreparedMessage(websocket.BinaryMessage, p)
				if err != nil {
					return err
				}
				return benchsrv.FanOut(g.List(), func(b *gorillaBC) error {
					b.mu.Lock()
					defer b.mu.Unlock()
					return b.c.WritePreparedMessage(pm)
				})
			}
			return h, send, g.Len
		},
	}
}

// gorillaBC serializes writes, which gorilla leaves to the application.
type gorillaBC struct {
	mu sync.Mutex
	c  *websocket.Conn
}

type gorillaConn struct {
	mu  sync.Mutex // gorilla allows one concurrent writer
	c   *websocket.Conn
	ext string
	*pump
}

func newGorillaConn(c *websocket.Conn) *gorillaConn {
	gc := &gorillaConn{c: c, pump: newPump()}
	c.SetReadLimit(MaxMessage)
	c.SetPongHandler(func(s string) error { gc.pong([]byte(s)); return nil })
	go gc.read()
	return gc
}

func (c *gorillaConn) read() {
	for {
		typ, msg, err := c.c.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				err = &CloseError{Code: ce.Code, Reason: ce.Text}
			}
			c.end(err)
			return
		}
		c.deliver(typ, msg)
	}
}

func (c *gorillaConn) Subprotocol() string { return c.c.Subprotocol() }
func (c *gorillaConn) Extensions() string  { return c.ext }

func (c *gorillaConn) Write(typ int, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.c.WriteMessage(typ, p)
}

func (c *gorillaConn) WriteFragmented(typ int, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, err := c.c.NextWriter(typ)
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

func (c *gorillaConn) Ping(ctx context.Context, payload []byte) error {
	if err := c.c.WriteControl(websocket.PingMessage, payload, time.Now().Add(ioTimeout)); err != nil {
		return err
	}
	return c.waitPong(ctx, payload)
}

func (c *gorillaConn) Close(code int, reason string) error {
	msg := websocket.FormatCloseMessage(code, reason)
	if code == 1005 {
		msg = nil
	}
	if err := c.c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(ioTimeout)); err != nil {
		return err
	}
	err := c.waitDone()
	c.c.Close()
	return err
}

func (c *gorillaConn) CloseNow() { c.c.Close() }

// gorillaEcho is the echo loop of gorilla's examples on connections that
// up upgrades.
func gorillaEcho(up websocket.Upgrader) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			typ, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(typ, msg); err != nil {
				return
			}
		}
	})
}
