package wsproto_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// permessage-deflate on both ends: the server keeps no compression state
// between messages (its compressors are pooled), the client offers it
// with the defaults.
func ExampleCompressionOptions() {
	srv := httptest.NewServer(wsproto.Handler(&wsproto.AcceptOptions{
		Compression: &wsproto.CompressionOptions{ServerNoContextTakeover: true},
	}, func(c *wsproto.Conn, _ *http.Request) {
		ctx := context.Background()
		typ, msg, err := c.Read(ctx, nil)
		if err != nil {
			return
		}
		c.Write(ctx, typ, msg) // compressed: at least 128 bytes
		c.Close(frame.CloseNormal, "")
	}))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := wsproto.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &wsproto.DialOptions{
		Compression: &wsproto.CompressionOptions{},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	fmt.Println(c.Extensions())
	c.Write(ctx, wsproto.MessageText, []byte(strings.Repeat("tick ", 100)))
	_, msg, _ := c.Read(ctx, nil)
	fmt.Println(len(msg), string(msg[:10]))
	// Output:
	// permessage-deflate; server_no_context_takeover
	// 500 tick tick
}
