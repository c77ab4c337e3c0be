package wsbatch_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/pushwire/pushwire/internal/wsbatch"
	"github.com/pushwire/pushwire/wsproto"
)

// An echo whose replies to messages that arrived together leave in one
// write: the reader enables coalescing, then reads and answers in a loop.
func Example() {
	srv := httptest.NewServer(wsproto.Handler(nil, func(c *wsproto.Conn, _ *http.Request) {
		wsbatch.Enable(c)
		var buf []byte
		for {
			typ, msg, err := c.Read(context.Background(), buf)
			if err != nil {
				return
			}
			if err := c.Write(context.Background(), typ, msg); err != nil {
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
	defer c.CloseNow()
	for _, m := range []string{"one", "two", "three"} {
		c.Write(ctx, wsproto.MessageText, []byte(m))
	}
	for range 3 {
		_, msg, err := c.Read(ctx, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(string(msg))
	}
	// Output:
	// one
	// two
	// three
}
