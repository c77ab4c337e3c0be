package wsproto_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// An echo server and a client that talks to it.
func Example() {
	srv := httptest.NewServer(wsproto.Handler(nil, func(c *wsproto.Conn, _ *http.Request) {
		ctx := context.Background()
		var buf []byte
		for {
			typ, msg, err := c.Read(ctx, buf)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, msg); err != nil {
				return
			}
			buf = wsproto.ReuseBuffer(msg)
		}
	}))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := wsproto.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	c.Write(ctx, wsproto.MessageText, []byte("hello"))
	typ, msg, err := c.Read(ctx, nil)
	fmt.Println(typ, string(msg), err)
	c.Close(frame.CloseNormal, "done")
	// Output: text hello <nil>
}

// The peer's close code and reason arrive as a CloseError.
func ExampleCloseError() {
	srv := httptest.NewServer(wsproto.Handler(nil, func(c *wsproto.Conn, _ *http.Request) {
		c.Close(frame.CloseGoingAway, "restarting")
	}))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := wsproto.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _, err = c.Read(ctx, nil)
	var ce frame.CloseError
	if errors.As(err, &ce) {
		fmt.Println(ce.Code, ce.Reason)
	}
	// Output: 1001 (going away) restarting
}

// Accept in a handler with subprotocols and a verification hook, the roles
// of ws's handleProtocols and verifyClient.
func ExampleAccept() {
	http.HandleFunc("/chat", func(w http.ResponseWriter, r *http.Request) {
		c, err := wsproto.Accept(w, r, &wsproto.AcceptOptions{
			Subprotocols: []string{"chat.v2", "chat.v1"},
			Verify: func(r *http.Request) error {
				if r.URL.Query().Get("token") == "" {
					return errors.New("missing token")
				}
				return nil
			},
		})
		if err != nil {
			return // Accept has answered with 400, 403, 426...
		}
		go func() {
			defer c.CloseNow()
			c.Write(context.Background(), wsproto.MessageText, []byte("welcome, you speak "+c.Subprotocol()))
			c.Close(frame.CloseNormal, "")
		}()
	})
}

// A chat room: every connection joins the group on accept, and each
// message it sends is broadcast to the others, encoded once for all. A ping
// every 30 s finds peers that vanished without closing.
func ExampleGroup() {
	room := wsproto.NewGroup(nil)
	srv := httptest.NewServer(wsproto.Handler(&wsproto.AcceptOptions{
		Group:        room,
		PingInterval: 30 * time.Second,
	}, func(c *wsproto.Conn, r *http.Request) {
		for {
			typ, msg, err := c.Read(r.Context(), nil)
			if err != nil {
				return // the connection leaves the room as it closes
			}
			pm, _ := wsproto.NewPreparedMessage(typ, msg)
			room.Broadcast(pm, func(to *wsproto.Conn) bool { return to != c })
		}
	}))
	defer srv.Close()
	defer room.Close(frame.CloseGoingAway, "server shutting down")

	ctx := context.Background()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	alice, _, _ := wsproto.Dial(ctx, url, nil)
	defer alice.CloseNow()
	bob, _, _ := wsproto.Dial(ctx, url, nil)
	defer bob.CloseNow()
	for room.Len() < 2 {
		time.Sleep(time.Millisecond) // until the server has accepted both
	}
	alice.Write(ctx, wsproto.MessageText, []byte("hello, room"))
	_, msg, _ := bob.Read(ctx, nil)
	fmt.Printf("%d in the room; bob got %q\n", room.Len(), msg)
	// Output: 2 in the room; bob got "hello, room"
}

// Back-pressure: a broadcast of ticks that can be skipped leaves out the
// connections that still have more than 64 KiB queued, instead of letting
// their queues fill up until the group closes them.
func ExampleConn_BufferedAmount() {
	feed := wsproto.NewGroup(nil)
	tick, _ := wsproto.NewPreparedMessage(wsproto.MessageText, []byte(`{"price":101.5}`))
	n := feed.Broadcast(tick, func(c *wsproto.Conn) bool { return c.BufferedAmount() < 64<<10 })
	fmt.Println("sent to", n)
	// Output: sent to 0
}

// Handler gives serve the handshake request: its query, headers, cookies
// and the values that middleware put in its context.
func ExampleHandler() {
	type userKey struct{}
	ws := wsproto.Handler(nil, func(c *wsproto.Conn, r *http.Request) {
		greeting := fmt.Sprintf("hello %s, welcome to %s", r.Context().Value(userKey{}), r.URL.Query().Get("room"))
		c.Write(r.Context(), wsproto.MessageText, []byte(greeting))
		c.Close(frame.CloseNormal, "")
	})
	authenticate := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := "alice" // from a session cookie or a token, say
		ws.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
	})
	srv := httptest.NewServer(authenticate)
	defer srv.Close()

	ctx := context.Background()
	c, _, err := wsproto.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/?room=lobby", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	_, msg, _ := c.Read(ctx, nil)
	fmt.Println(string(msg))
	// Output: hello alice, welcome to lobby
}

// Heartbeats: a ping every 20 ms here (every 30 s is more usual), and a
// peer that has not answered within 20 ms is closed. This client never
// reads, so it never answers.
func ExampleAcceptOptions_heartbeat() {
	ended := make(chan error, 1)
	opts := &wsproto.AcceptOptions{PingInterval: 20 * time.Millisecond, PongTimeout: 20 * time.Millisecond}
	srv := httptest.NewServer(wsproto.Handler(opts, func(c *wsproto.Conn, r *http.Request) {
		_, _, err := c.Read(r.Context(), nil)
		ended <- err
	}))
	defer srv.Close()

	c, _, err := wsproto.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	err = <-ended
	var ce frame.CloseError
	fmt.Println(errors.As(err, &ce), ce.Code, errors.Is(err, os.ErrDeadlineExceeded))
	// Output: true 1006 (abnormal closure) true
}
