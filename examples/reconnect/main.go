// Command reconnect follows a WebSocket feed and stays connected: it dials
// again with backoff and jitter, and says hello on every connection.
//
//	go run ./examples/chat &
//	go run ./examples/reconnect -url 'ws://127.0.0.1:8080/chat?name=follower'
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/reconnect"
	"github.com/pushwire/pushwire/wsproto/wsjson"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:8080/chat?name=follower", "the feed's WebSocket URL")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := follow(ctx, *url, os.Stdout, log.Printf); err != nil && ctx.Err() == nil {
		log.Fatal(err) // refused for good, such as a 403
	}
}

// follow writes every message of the feed to out until ctx ends.
func follow(ctx context.Context, url string, out io.Writer, logf func(string, ...any)) error {
	client, err := reconnect.NewClient(url, &reconnect.Options{
		MinDelay: 100 * time.Millisecond,
		Dial:     &wsproto.DialOptions{PingInterval: 30 * time.Second},
		OnConnect: func(c *wsproto.Conn, resp *http.Response, attempt int) error {
			logf("connected, attempt %d", attempt)
			return wsjson.Write(ctx, c, map[string]string{"text": "hello again"})
		},
		OnDisconnect: func(err error, wait time.Duration) {
			logf("disconnected (%v); next attempt in %v", err, wait.Round(time.Millisecond))
		},
	})
	if err != nil {
		return err
	}
	return client.Run(ctx, func(ctx context.Context, c *wsproto.Conn) error {
		for {
			_, msg, err := c.Read(ctx, nil)
			if err != nil {
				return err // Run dials again
			}
			fmt.Fprintf(out, "%s\n", msg)
		}
	})
}
