package wsjson

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/internal/leakcheck"
	"github.com/pushwire/pushwire/wsproto"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

type note struct {
	From string   `json:"from"`
	Text string   `json:"text"`
	Tags []string `json:"tags,omitempty"`
}

// pair returns a client connected to a server that runs serve.
func pair(t *testing.T, serve func(c *wsproto.Conn, r *http.Request)) *wsproto.Conn {
	t.Helper()
	srv := httptest.NewServer(wsproto.Handler(nil, serve))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := wsproto.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// TestRoundTrip: values written with Write read back equal with Read, as
// text messages holding exactly json.Marshal's bytes.
func TestRoundTrip(t *testing.T) {
	raw := make(chan string, 10)
	c := pair(t, func(c *wsproto.Conn, r *http.Request) {
		for {
			typ, msg, err := c.Read(r.Context(), nil)
			if err != nil {
				return
			}
			raw <- typ.String() + " " + string(msg)
			c.Write(r.Context(), typ, msg)
		}
	})
	ctx := context.Background()
	for _, in := range []note{
		{From: "alice", Text: "hello"},
		{From: "bob", Text: "<b>&</b>", Tags: []string{"x", "y"}},
		{From: "carol", Text: strings.Repeat("long ", 30000)}, // over the pooled size
	} {
		if err := Write(ctx, c, in); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(in)
		if got := <-raw; got != "text "+string(want) {
			t.Errorf("sent %.60q, want text %.60q", got, want)
		}
		var out note
		if err := Read(ctx, c, &out); err != nil {
			t.Fatal(err)
		}
		if out.From != in.From || out.Text != in.Text || strings.Join(out.Tags, ",") != strings.Join(in.Tags, ",") {
			t.Errorf("Read = %+.40v, want %+.40v", out, in)
		}
	}
}

// TestReadInvalid: a message that is not JSON gives the decoding error and
// the next message is read as usual.
func TestReadInvalid(t *testing.T) {
	c := pair(t, func(c *wsproto.Conn, r *http.Request) {
		c.Write(r.Context(), wsproto.MessageText, []byte("not json"))
		c.Write(r.Context(), wsproto.MessageBinary, []byte(`{"from":"dave"}`))
		c.Read(r.Context(), nil)
	})
	ctx := context.Background()
	var n note
	var se *json.SyntaxError
	if err := Read(ctx, c, &n); err == nil || !errors.As(err, &se) {
		t.Fatalf("Read of %q = %v, want a *json.SyntaxError", "not json", err)
	}
	if err := Read(ctx, c, &n); err != nil || n.From != "dave" {
		t.Fatalf("next Read = %+v %v, want dave", n, err)
	}
}

// TestPrepare: a prepared value is the JSON text, sent as text.
func TestPrepare(t *testing.T) {
	pm, err := Prepare(note{From: "eve", Text: "to all"})
	if err != nil {
		t.Fatal(err)
	}
	c := pair(t, func(c *wsproto.Conn, r *http.Request) {
		c.WritePrepared(r.Context(), pm)
		c.Read(r.Context(), nil)
	})
	typ, msg, err := c.Read(context.Background(), nil)
	if err != nil || typ != wsproto.MessageText || string(msg) != `{"from":"eve","text":"to all"}` {
		t.Fatalf("received %v %q %v", typ, msg, err)
	}
	if _, err := Prepare(func() {}); err == nil {
		t.Error("Prepare of a func succeeded")
	}
	if err := Write(context.Background(), c, make(chan int)); err == nil {
		t.Error("Write of a channel succeeded")
	}
}
