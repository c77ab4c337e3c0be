// Command peer-gws is lxzan/gws's benchmark program (see package
// peers/internal/benchsrv): the plain echo server of gws's README (an
// Upgrader whose handler starts ReadLoop on a new goroutine, OnMessage
// writing the message back; ReadMaxPayloadSize as the read limit,
// CheckUtf8Enabled on, compression off), a broadcast group written with
// gws.Broadcaster, and gws.NewClient as the client.
package main

import (
	"context"
	"net/http"

	"github.com/lxzan/gws"

	"github.com/pushwire/pushwire/peers/internal/benchsrv"
)

func main() {
	benchsrv.Main(benchsrv.Lib{Name: "gws", Echo: echo, EchoDeflate: echoDeflate, Broadcast: broadcast, Read: read})
}

type echoHandler struct{ gws.BuiltinEventHandler }

// OnPing answers with the ping's payload (RFC 6455 §5.5.3).
func (echoHandler) OnPing(c *gws.Conn, p []byte) { _ = c.WritePong(p) }

func (echoHandler) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	_ = c.WriteMessage(m.Opcode, m.Bytes())
}

func echo(limit int64) http.Handler {
	return echoWith(&gws.ServerOption{
		ReadMaxPayloadSize: int(limit),
		CheckUtf8Enabled:   true,
	})
}

// echoDeflate is the echo with PermessageDeflate, context takeover both
// ways unless noContextTakeover.
func echoDeflate(limit int64, noContextTakeover bool) http.Handler {
	return echoWith(&gws.ServerOption{
		ReadMaxPayloadSize: int(limit),
		CheckUtf8Enabled:   true,
		PermessageDeflate:  gws.PermessageDeflate{Enabled: true, ServerContextTakeover: !noContextTakeover, ClientContextTakeover: !noContextTakeover},
	})
}

func echoWith(opt *gws.ServerOption) http.Handler {
	up := gws.NewUpgrader(echoHandler{}, opt)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		go c.ReadLoop()
	})
}

type group struct {
	gws.BuiltinEventHandler
	benchsrv.Group[*gws.Conn]
}

func (g *group) OnClose(c *gws.Conn, _ error) { g.Remove(c) }

func broadcast(limit int64) (http.Handler, func([]byte) error, func() int) {
	g := &group{}
	up := gws.NewUpgrader(g, &gws.ServerOption{ReadMaxPayloadSize: int(limit), CheckUtf8Enabled: true})
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
}

type counter struct {
	gws.BuiltinEventHandler
	want, n int
	total   int64
	atDone  int64 // total when the n-th message arrived
	err     error
	done    chan struct{}
}

func (r *counter) OnMessage(_ *gws.Conn, m *gws.Message) {
	r.total += int64(m.Data.Len())
	m.Close()
	r.n++
	if r.n == r.want {
		r.atDone = r.total
		close(r.done)
	}
}

func (r *counter) OnClose(_ *gws.Conn, err error) {
	if r.n < r.want {
		r.err = err
		close(r.done)
	}
}

func read(ctx context.Context, url string, n int, opened func()) (int64, error) {
	r := &counter{want: n, done: make(chan struct{})}
	c, _, err := gws.NewClient(r, &gws.ClientOption{Addr: url, ReadMaxPayloadSize: benchsrv.DefaultLimit, CheckUtf8Enabled: true})
	if err != nil {
		return 0, err
	}
	opened()
	go c.ReadLoop()
	defer c.NetConn().Close()
	select {
	case <-r.done:
		return r.atDone, r.err
	case <-ctx.Done():
		return r.total, ctx.Err()
	}
}
