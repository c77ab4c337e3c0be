package wsecho

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/internal/leakcheck"
	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestLoop(t *testing.T) {
	ended := make(chan error, 1)
	srv := httptest.NewServer(wsproto.Handler(nil, func(c *wsproto.Conn, _ *http.Request) {
		ended <- Loop(context.Background(), c)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := wsproto.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for _, m := range []struct {
		typ  wsproto.MessageType
		data string
	}{{wsproto.MessageText, "hello"}, {wsproto.MessageBinary, "\x00\x01"}, {wsproto.MessageText, ""}} {
		if err := c.Write(ctx, m.typ, []byte(m.data)); err != nil {
			t.Fatal(err)
		}
		typ, got, err := c.Read(ctx, nil)
		if err != nil || typ != m.typ || string(got) != m.data {
			t.Fatalf("echo of %v %q = %v %q, %v", m.typ, m.data, typ, got, err)
		}
	}
	c.Close(frame.CloseNormal, "")
	var ce frame.CloseError
	if err := <-ended; !errors.As(err, &ce) || ce.Code != frame.CloseNormal {
		t.Fatalf("Loop = %v, want the peer's CloseError 1000", err)
	}
}
