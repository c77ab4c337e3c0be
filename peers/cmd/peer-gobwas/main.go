// Command peer-gobwas is gobwas/ws's benchmark program (see package
// peers/internal/benchsrv): the plain echo server of gobwas's README
// (ws.UpgradeHTTP, wsutil.ReadClientData and wsutil.WriteServerMessage on
// the handler's goroutine, the helpers' read limit set with
// wsutil.SetMaxMessageSize and their UTF-8 check on, its default), a
// broadcast group writing one frame compiled with ws.CompileFrame, and
// ws.Dial with wsutil.ReadServerData as the client.
package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/pushwire/pushwire/peers/internal/benchsrv"
)

func main() {
	benchsrv.Main(benchsrv.Lib{Name: "gobwas", Echo: echo, Broadcast: broadcast, Read: read})
}

func echo(limit int64) http.Handler {
	wsutil.SetMaxMessageSize(limit)
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
}

// member serializes whole frames on one connection.
type member struct {
	mu sync.Mutex
	c  net.Conn
}

func (m *member) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.c.Write(p)
}

func broadcast(limit int64) (http.Handler, func([]byte) error, func() int) {
	wsutil.SetMaxMessageSize(limit)
	var g benchsrv.Group[*member]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		defer conn.Close()
		m := &member{c: conn}
		g.Add(m)
		defer g.Remove(m)
		rw := struct {
			io.Reader
			io.Writer
		}{conn, m}
		for {
			if _, _, err := wsutil.ReadClientData(rw); err != nil {
				return
			}
		}
	})
	send := func(p []byte) error {
		frame, err := ws.CompileFrame(ws.NewBinaryFrame(p))
		if err != nil {
			return err
		}
		return benchsrv.FanOut(g.List(), func(m *member) error {
			_, err := m.Write(frame)
			return err
		})
	}
	return h, send, g.Len
}

func read(ctx context.Context, url string, n int, opened func()) (int64, error) {
	wsutil.SetMaxMessageSize(benchsrv.DefaultLimit)
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
	opened()
	var total int64
	for range n {
		msg, _, err := wsutil.ReadServerData(rw)
		if err != nil {
			return total, err
		}
		total += int64(len(msg))
	}
	return total, nil
}
