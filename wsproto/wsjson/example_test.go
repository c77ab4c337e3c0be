package wsjson_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
	"github.com/pushwire/pushwire/wsproto/wsjson"
)

type message struct {
	User string `json:"user"`
	Text string `json:"text"`
}

// A server that answers each JSON message with another.
func Example() {
	srv := httptest.NewServer(wsproto.Handler(nil, func(c *wsproto.Conn, r *http.Request) {
		for {
			var m message
			if err := wsjson.Read(r.Context(), c, &m); err != nil {
				return
			}
			wsjson.Write(r.Context(), c, message{User: "server", Text: "got " + m.Text})
		}
	}))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := wsproto.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(frame.CloseNormal, "")
	wsjson.Write(ctx, c, message{User: "alice", Text: "hi"})
	var reply message
	wsjson.Read(ctx, c, &reply)
	fmt.Printf("%+v\n", reply)
	// Output: {User:server Text:got hi}
}

// A value encoded once for a whole group.
func ExamplePrepare() {
	room := wsproto.NewGroup(nil)
	pm, err := wsjson.Prepare(message{User: "bot", Text: "the meeting starts"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("sent to", room.Broadcast(pm, nil), "connections")
	// Output: sent to 0 connections
}
