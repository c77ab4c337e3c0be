package reconnect_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
	"github.com/pushwire/pushwire/wsproto/reconnect"
)

// A client that stays connected to a server that restarts: each time the
// connection ends, the client dials again, and OnConnect subscribes anew.
func Example() {
	// A server that closes every connection after one message, as a
	// server that restarts would.
	srv := httptest.NewServer(wsproto.Handler(nil, func(c *wsproto.Conn, r *http.Request) {
		_, topic, _ := c.Read(r.Context(), nil)
		c.Write(r.Context(), wsproto.MessageText, []byte("news on "+string(topic)))
		c.Close(frame.CloseServiceRestart, "restarting")
	}))
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client, err := reconnect.NewClient("ws"+strings.TrimPrefix(srv.URL, "http"), &reconnect.Options{
		MinDelay: 10 * time.Millisecond,
		OnConnect: func(c *wsproto.Conn, resp *http.Response, attempt int) error {
			fmt.Println("connected, attempt", attempt)
			return c.Write(ctx, wsproto.MessageText, []byte("weather"))
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	received := 0
	err = client.Run(ctx, func(ctx context.Context, c *wsproto.Conn) error {
		for {
			_, msg, err := c.Read(ctx, nil)
			if err != nil {
				return err
			}
			fmt.Println(string(msg))
			if received++; received == 2 {
				cancel()
			}
		}
	})
	fmt.Println(err)
	// Output:
	// connected, attempt 1
	// news on weather
	// connected, attempt 2
	// news on weather
	// context canceled
}
