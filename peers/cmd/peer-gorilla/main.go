// Command peer-gorilla is gorilla/websocket's benchmark program (see package
// peers/internal/benchsrv): the plain echo server of gorilla's examples (an
// Upgrader with default buffers, ReadMessage and WriteMessage on the
// handler's goroutine), a broadcast group written with PreparedMessage, and
// the Dialer as the client. gorilla does not validate UTF-8 in messages
// (it is not configurable).
package main

import (
	"context"
	"net/http"
	"sync"

	"github.com/gorilla/websocket"

	"github.com/pushwire/pushwire/peers/internal/benchsrv"
)

func main() {
	benchsrv.Main(benchsrv.Lib{Name: "gorilla", Echo: echo, EchoDeflate: echoDeflate, Broadcast: broadcast, Read: read})
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func echo(limit int64) http.Handler { return echoWith(&upgrader, limit) }

// echoDeflate is the echo with EnableCompression: gorilla compresses
// without context takeover, its only mode.
func echoDeflate(limit int64, _ bool) http.Handler {
	return echoWith(&websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }, EnableCompression: true}, limit)
}

func echoWith(upgrader *websocket.Upgrader, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(limit)
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

// member serializes writes, which gorilla leaves to the application.
type member struct {
	mu sync.Mutex
	c  *websocket.Conn
}

func broadcast(limit int64) (http.Handler, func([]byte) error, func() int) {
	var g benchsrv.Group[*member]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(limit)
		m := &member{c: c}
		g.Add(m)
		defer g.Remove(m)
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
		return benchsrv.FanOut(g.List(), func(m *member) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			return m.c.WritePreparedMessage(pm)
		})
	}
	return h, send, g.Len
}

func read(ctx context.Context, url string, n int, opened func()) (int64, error) {
	c, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetReadLimit(benchsrv.DefaultLimit)
	opened()
	var total int64
	for range n {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return total, err
		}
		total += int64(len(msg))
	}
	return total, nil
}
