// Command peer-pushwire is pushwire's benchmark program (see package
// peers/internal/benchsrv): the echo server of wsproto's package
// documentation (internal/wsecho.Loop, the loop of `pushwire echo`) run
// from wsproto.Handler, a broadcast to a wsproto.Group
// (Broadcast of one PreparedMessage, from the calling goroutine), and
// wsproto.Dial as the client.
//
// The echo row of peers/RESULTS.md measures the shipped `pushwire echo`
// instead; this program's echo, the in-process echo of the old method, is
// there to tell a difference of server from a difference of method.
package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/pushwire/pushwire/internal/wsecho"
	"github.com/pushwire/pushwire/peers/internal/benchsrv"
	"github.com/pushwire/pushwire/wsproto"
)

func main() {
	benchsrv.Main(benchsrv.Lib{Name: "pushwire", Echo: echo, EchoDeflate: echoDeflate, Broadcast: broadcast, Read: read})
}

func echo(limit int64) http.Handler {
	return echoWith(&wsproto.AcceptOptions{InsecureSkipOriginCheck: true, ReadLimit: limit})
}

// echoDeflate is the echo with permessage-deflate, context takeover both
// ways (as `pushwire echo`) unless noContextTakeover.
func echoDeflate(limit int64, noContextTakeover bool) http.Handler {
	return echoWith(&wsproto.AcceptOptions{InsecureSkipOriginCheck: true, ReadLimit: limit,
		Compression: &wsproto.CompressionOptions{ServerNoContextTakeover: noContextTakeover, ClientNoContextTakeover: noContextTakeover}})
}

func echoWith(opts *wsproto.AcceptOptions) http.Handler {
	return wsproto.Handler(opts, func(c *wsproto.Conn, _ *http.Request) {
		wsecho.Loop(context.Background(), c)
	})
}

func broadcast(limit int64) (http.Handler, func([]byte) error, func() int) {
	// The Group does what the other programs do by hand: members join on
	// accept and leave on close, and Broadcast writes one frame to all.
	g := wsproto.NewGroup(nil)
	opts := &wsproto.AcceptOptions{InsecureSkipOriginCheck: true, ReadLimit: limit, Group: g}
	h := wsproto.Handler(opts, func(c *wsproto.Conn, _ *http.Request) {
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

func read(ctx context.Context, url string, n int, opened func()) (int64, error) {
	c, _, err := wsproto.Dial(ctx, url, &wsproto.DialOptions{ReadLimit: benchsrv.DefaultLimit})
	if err != nil {
		return 0, err
	}
	defer c.CloseNow()
	opened()
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
