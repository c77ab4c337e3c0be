package goaway

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

// dial returns a client connection to a server that reports what ended
// its read.
func dial(t *testing.T) (*wsproto.Conn, <-chan error) {
	t.Helper()
	ended := make(chan error, 1)
	srv := httptest.NewServer(wsproto.Handler(nil, func(c *wsproto.Conn, _ *http.Request) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _, err := c.Read(ctx, nil)
		ended <- err
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := wsproto.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c, ended
}

// A context that ends closes the connection with 1001, which the server
// reads as the client's close, and ends the client's own read.
func TestOnDoneClosesWithGoingAway(t *testing.T) {
	c, ended := dial(t)
	ctx, cancel := context.WithCancel(context.Background())
	stop := OnDone(ctx, c)
	read := make(chan error, 1)
	go func() {
		_, _, err := c.Read(context.Background(), nil)
		read <- err
	}()
	cancel()
	stop() // waits for the closing handshake
	var ce frame.CloseError
	if err := <-ended; !errors.As(err, &ce) || ce.Code != frame.CloseGoingAway {
		t.Fatalf("server's read = %v, want the client's CloseError 1001", err)
	}
	if err := <-read; err == nil {
		t.Fatal("client's read returned no error after the close")
	}
}

// stop before the context ends leaves the connection open.
func TestStopBeforeDone(t *testing.T) {
	c, ended := dial(t)
	ctx, cancel := context.WithCancel(context.Background())
	stop := OnDone(ctx, c)
	stop()
	cancel()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := c.Write(wctx, wsproto.MessageText, []byte("still open")); err != nil {
		t.Fatalf("Write after stop and cancel = %v, want the connection open", err)
	}
	if err := <-ended; err != nil {
		t.Fatalf("server's read = %v, want the message", err)
	}
}
