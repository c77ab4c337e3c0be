package httpstream_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/pushwire/pushwire/httpstream"
	"github.com/pushwire/pushwire/hub"
)

// A long-poll client sends the cursor of each answer with its next poll;
// timeout=0 makes it a short poll.
func Example_poll() {
	tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1"})
	h := httpstream.NewHandler(tp, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()

	ctx := context.Background()
	tp.Publish(ctx, "chat", []byte("hello"))
	tp.Publish(ctx, "chat", []byte("</script>"))
	for _, cursor := range []string{"0", "1", "2"} {
		resp, err := http.Get(srv.URL + "/?transport=poll&timeout=0&cursor=" + cursor)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(string(body))
	}
	// Output:
	// {"cursor":"e1:2","entries":[{"seq":1,"type":"chat","data":"hello"},{"seq":2,"type":"chat","data":"\u003c/script\u003e"}]}
	// {"cursor":"e1:2","entries":[{"seq":2,"type":"chat","data":"\u003c/script\u003e"}]}
	// {"cursor":"e1:2","entries":[]}
}

// OnPublish lets clients publish with POST (and WebSocket messages); the
// application decides what goes into the log.
func ExampleOptions_onPublish() {
	tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1"})
	h := httpstream.NewHandler(tp, &httpstream.Options{
		OnPublish: func(r *http.Request, data []byte) error {
			if len(data) == 0 {
				return fmt.Errorf("empty message")
			}
			_, err := tp.Publish(r.Context(), "chat", data)
			return err
		},
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()

	for _, msg := range []string{"hi", ""} {
		resp, err := http.Post(srv.URL, "text/plain", strings.NewReader(msg))
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d %q\n", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	n, _, _ := tp.ReadAfter(context.Background(), hub.After(0), make([]hub.Entry, 10))
	fmt.Println(n, "entry published")
	// Output:
	// 204 ""
	// 400 "empty message"
	// 1 entry published
}

// The Go side of the hub protocol: a Client reads the log over WebSocket
// (or SSE, or long polling), resuming from its cursor after every
// reconnection, and publishes through the Handler's OnPublish.
func ExampleClient() {
	tp := hub.NewTopic(nil)
	h := httpstream.NewHandler(tp, &httpstream.Options{
		OnPublish: func(r *http.Request, data []byte) error {
			_, err := tp.Publish(r.Context(), "chat", data)
			return err
		},
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()
	tp.Publish(context.Background(), "chat", []byte("before we came"))

	c, err := httpstream.NewClient(srv.URL, &httpstream.ClientOptions{
		Cursor:    "oldest", // all the log holds; "" for new entries only
		OnConnect: func(transport string) { fmt.Println("connected over", transport) },
		OnGap:     func(g hub.GapError) { fmt.Println(g.Lost, "entries are gone") },
		OnReset:   func(r hub.ResetError) { fmt.Println("the log restarted; going on after", r.Cursor()) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	err = c.Run(ctx, func(e hub.Entry) error {
		fmt.Printf("#%d %s: %s\n", e.Seq, e.Type, e.Data)
		if e.Seq == 1 {
			return c.Send(ctx, []byte("hello from Go"))
		}
		cancel()
		return nil
	})
	fmt.Println(err, "; resume after", strings.TrimPrefix(c.Cursor(), string(tp.Epoch())+":")) // "EPOCH:2"
	// Output:
	// connected over websocket
	// #1 chat: before we came
	// #2 chat: hello from Go
	// context canceled ; resume after 2
}
