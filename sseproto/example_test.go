package sseproto_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pushwire/pushwire/sseproto"
)

// Decode a stream: comments are skipped, data lines are joined, the last
// event ID carries over, and an event type defaults to "message".
func ExampleDecoder() {
	stream := ": a comment\n" +
		"id: 1\n" +
		"event: greeting\n" +
		"data: hello\n" +
		"data: world\n" +
		"\n" +
		"data: no id field, same last event ID\r\n\r\n" +
		"retry: 5000\n" +
		"data: an incomplete event at the end is dropped\n"
	d := sseproto.NewDecoder(strings.NewReader(stream), nil)
	for {
		ev, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Printf("type=%s id=%s data=%q\n", ev.Type, ev.ID, ev.Data)
	}
	retry, _ := d.Retry()
	fmt.Println("reconnection time:", retry)
	// Output:
	// type=greeting id=1 data="hello\nworld"
	// type=message id=1 data="no id field, same last event ID"
	// reconnection time: 5s
}

// Encode events: multi-line data becomes several data lines, and fields
// that would break the stream are refused.
func ExampleEncoder() {
	e := sseproto.NewEncoder(os.Stdout)
	_ = e.Comment("welcome")
	_ = e.Encode(sseproto.Event{Type: "add", ID: "42", Data: "line one\r\nline two"})
	err := e.Encode(sseproto.Event{ID: "43\ndata: injected"})
	fmt.Println(err)
	// Output:
	// : welcome
	// event: add
	// id: 42
	// data: line one
	// data: line two
	//
	// sseproto: invalid event: id contains '\n'
}

// A handler that replays what a reconnecting client missed, then streams
// new events, and answers 204 once the stream is finished so that the
// browser stops reconnecting.
func ExampleStream() {
	log := []string{"first", "second", "third"} // a finished stream of three events
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next := 0
		if id, err := strconv.Atoi(sseproto.LastEventID(r)); err == nil {
			next = id + 1
		}
		if next >= len(log) {
			sseproto.NoContent(w)
			return
		}
		s, err := sseproto.NewStream(w, r, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		events := make(chan sseproto.Event, len(log))
		for i := next; i < len(log); i++ {
			events <- sseproto.Event{ID: strconv.Itoa(i), Data: log[i]}
		}
		close(events) // a live handler would keep the channel open
		_ = s.Run(r.Context(), events)
	})
	srv := httptest.NewServer(handler)
	defer srv.Close()

	// A client that already has event 0. (It reconnects after the stream
	// ends; the short reconnection time keeps the example quick.)
	c, err := sseproto.NewClient(srv.URL, &sseproto.ClientOptions{
		LastEventID:   "0",
		ReconnectTime: 10 * time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = c.Run(context.Background(), func(ev sseproto.Event) error {
		fmt.Printf("%s: %s\n", ev.ID, ev.Data)
		return nil
	})
	fmt.Println("done:", err, c.State())
	// Output:
	// 1: second
	// 2: third
	// done: <nil> closed
}
