package wsidle_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/pushwire/pushwire/internal/wsidle"
	"github.com/pushwire/pushwire/wsproto"
)

// reader reads one connection's messages; between messages it parks the
// connection and its goroutine ends.
type reader struct {
	c      *wsproto.Conn
	resume func() // run, bound once so that parking allocates nothing
}

func (r *reader) run() {
	ctx := context.Background()
	for {
		if wsidle.Park(r.c, r.resume, nil) {
			return // r.run runs again once the peer sends something
		}
		typ, msg, err := r.c.Read(ctx, nil)
		if err != nil {
			r.c.CloseNow() // a parked connection is the reader's to close
			return
		}
		r.c.Write(ctx, typ, []byte(strings.ToUpper(string(msg))))
	}
}

func Example() {
	srv := httptest.NewServer(wsproto.Handler(nil, func(c *wsproto.Conn, _ *http.Request) {
		r := &reader{c: c}
		r.resume = r.run
		r.run()
	}))
	defer srv.Close()

	ctx := context.Background()
	c, _, err := wsproto.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	for _, m := range []string{"hello", "again"} {
		c.Write(ctx, wsproto.MessageText, []byte(m))
		_, got, err := c.Read(ctx, nil)
		fmt.Println(string(got), err)
	}
	// Output:
	// HELLO <nil>
	// AGAIN <nil>
}
