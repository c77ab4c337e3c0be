package wsproto_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// An echo server and a client that talks to it.
func Example() {
	srv := httptest.NewServer(wsproto.Handler(nil, func(c *wsproto.Conn) {
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
			buf = msg
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
	srv := httptest.NewServer(wsproto.Handler(nil, func(c *wsproto.Conn) {
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

// A prepared message is encoded once and written to many connections.
func ExamplePreparedMessage() {
	var clients []*wsproto.Conn // the open connections
	pm, _ := wsproto.NewPreparedMessage(wsproto.MessageText, []byte("news for everyone"))
	for _, c := range clients {
		c.WritePrepared(context.Background(), pm)
	}
}
