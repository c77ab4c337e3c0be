// Command chat is a WebSocket chat room: each JSON message {"text":…} that a
// client sends goes to every other client as {"from":…,"text":…}. Clients
// that stop answering pings are dropped; on Ctrl-C every client gets 1001.
//
//	go run ./examples/chat -addr 127.0.0.1:8080
//	pushwire ws 'ws://127.0.0.1:8080/chat?name=alice'
package main

import (
	"context"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
	"github.com/pushwire/pushwire/wsproto/wsjson"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	room := wsproto.NewGroup(nil)
	srv := &http.Server{Addr: *addr, Handler: chat(room, 30*time.Second)}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		room.Close(frame.CloseGoingAway, "server shutting down") // ws's wss.close()
		srv.Shutdown(context.Background())
	}()
	log.Printf("chat on ws://%s/chat?name=you", *addr)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

// chat serves the room: connections join on accept and leave on close.
func chat(room *wsproto.Group, ping time.Duration) http.Handler {
	opts := &wsproto.AcceptOptions{Group: room, PingInterval: ping, ReadLimit: 4 << 10}
	return wsproto.Handler(opts, func(c *wsproto.Conn, r *http.Request) {
		name := r.URL.Query().Get("name")
		for {
			var in struct{ Text string }
			if err := wsjson.Read(r.Context(), c, &in); err != nil {
				return // closed, failed, or not JSON
			}
			out, err := wsjson.Prepare(map[string]string{"from": name, "text": in.Text})
			if err != nil {
				return
			}
			room.Broadcast(out, func(to *wsproto.Conn) bool { return to != c })
		}
	})
}
