// Command peer-coder is coder/websocket's benchmark program (see package
// peers/internal/benchsrv): the plain echo server of coder's examples
// (Accept with compression disabled, Read and Write on the handler's
// goroutine), a broadcast group written with Write (coder has no prepared
// message), and Dial as the client. coder does not validate UTF-8 in
// messages (it is not configurable).
package main

import (
	"context"
	"net/http"

	"github.com/coder/websocket"

	"github.com/pushwire/pushwire/peers/internal/benchsrv"
)

func main() {
	benchsrv.Main(benchsrv.Lib{Name: "coder", Echo: echo, EchoDeflate: echoDeflate, Broadcast: broadcast, Read: read})
}

var acceptOptions = &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled}

func echo(limit int64) http.Handler { return echoWith(acceptOptions, limit) }

// echoDeflate is the echo with CompressionContextTakeover, or
// CompressionNoContextTakeover.
func echoDeflate(limit int64, noContextTakeover bool) http.Handler {
	mode := websocket.CompressionContextTakeover
	if noContextTakeover {
		mode = websocket.CompressionNoContextTakeover
	}
	return echoWith(&websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: mode}, limit)
}

func echoWith(acceptOptions *websocket.AcceptOptions, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, acceptOptions)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(limit)
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
}

func broadcast(limit int64) (http.Handler, func([]byte) error, func() int) {
	var g benchsrv.Group[*websocket.Conn]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, acceptOptions)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(limit)
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
}

func read(ctx context.Context, url string, n int, opened func()) (int64, error) {
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return 0, err
	}
	defer c.CloseNow()
	c.SetReadLimit(benchsrv.DefaultLimit)
	opened()
	var total int64
	for range n {
		_, msg, err := c.Read(ctx)
		if err != nil {
			return total, err
		}
		total += int64(len(msg))
	}
	return total, nil
}
