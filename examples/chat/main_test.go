package main

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/internal/leakcheck"
	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
	"github.com/pushwire/pushwire/wsproto/wsjson"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

type said struct{ From, Text string }

// TestChat: messages go to the others, not back to the sender; a client
// that stops answering pings is dropped; closing the room sends 1001.
func TestChat(t *testing.T) {
	room := wsproto.NewGroup(nil)
	srv := httptest.NewServer(chat(room, 50*time.Millisecond))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func(name string) *wsproto.Conn {
		c, _, err := wsproto.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/chat?name="+name, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c
	}
	alice, bob := dial("alice"), dial("bob")
	dial("carol") // never reads, so never answers a ping
	for room.Len() != 3 {
		time.Sleep(time.Millisecond)
	}
	wsjson.Write(ctx, alice, map[string]string{"text": "hi all"})
	var m said
	if err := wsjson.Read(ctx, bob, &m); err != nil || m != (said{"alice", "hi all"}) {
		t.Fatalf("bob read %+v, %v; want alice's message", m, err)
	}
	wsjson.Write(ctx, bob, map[string]string{"text": "hello alice"})
	if err := wsjson.Read(ctx, alice, &m); err != nil || m != (said{"bob", "hello alice"}) {
		t.Fatalf("alice read %+v, %v; want bob's answer and not her own message", m, err)
	}
	// Carol's pongs never come: the heartbeat drops her; alice and bob,
	// who read, answer every ping and stay.
	errs := make(chan error, 2)
	for _, c := range []*wsproto.Conn{alice, bob} {
		go func() {
			for {
				if _, _, err := c.Read(ctx, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for room.Len() != 2 {
		if ctx.Err() != nil {
			t.Fatalf("carol was not dropped: %d in the room", room.Len())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // four more pings, all answered
	if n := room.Len(); n != 2 {
		t.Fatalf("%d in the room after 200 ms of pings, want alice and bob", n)
	}
	if err := room.Close(frame.CloseGoingAway, "server shutting down"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range 2 {
		var ce frame.CloseError
		if err := <-errs; !errors.As(err, &ce) || ce.Code != frame.CloseGoingAway {
			t.Errorf("client read %v, want close 1001", err)
		}
	}
}
