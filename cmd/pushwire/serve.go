package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pushwire/pushwire/wsproto"
)

//go:embed demo.html
var demoPage []byte

// runServe implements `pushwire serve`: the demo application.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "pushwire serve: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "pushwire serve: open http://%s/ (chat over WebSocket at /ws, SSE at /events)\n", ln.Addr())
	return serveUntilDone(ctx, ln, newDemoMux(), stderr)
}

// newDemoMux returns the demo's routes.
func newDemoMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(demoPage)
	})
	mux.Handle("/ws", newChatRoom().handler())
	mux.Handle("GET /events", newEventsHandler())
	return mux
}

// chatRoom broadcasts every message to all open clients, as the classic
// `ws` broadcast example does.
type chatRoom struct {
	mu      sync.Mutex
	clients map[*chatClient]struct{}
}

// chatClient is one connection with its queue of outgoing messages. A
// client that falls more than its queue behind is dropped, so that a slow
// reader never holds up the others.
type chatClient struct {
	c    *wsproto.Conn
	send chan *wsproto.PreparedMessage
}

func newChatRoom() *chatRoom {
	return &chatRoom{clients: make(map[*chatClient]struct{})}
}

func (room *chatRoom) handler() http.Handler {
	opts := &wsproto.AcceptOptions{ReadLimit: 64 << 10}
	return wsproto.Handler(opts, func(c *wsproto.Conn) {
		cl := &chatClient{c: c, send: make(chan *wsproto.PreparedMessage, 64)}
		room.mu.Lock()
		room.clients[cl] = struct{}{}
		room.mu.Unlock()
		defer func() {
			room.mu.Lock()
			delete(room.clients, cl)
			room.mu.Unlock()
		}()
		done := make(chan struct{})
		defer close(done)
		go cl.writeLoop(done)
		ctx := context.Background()
		var buf []byte
		for {
			typ, msg, err := c.Read(ctx, buf)
			if err != nil {
				return
			}
			buf = msg
			if typ != wsproto.MessageText {
				continue
			}
			room.broadcast(msg)
		}
	})
}

func (room *chatRoom) broadcast(msg []byte) {
	pm, _ := wsproto.NewPreparedMessage(wsproto.MessageText, append([]byte(nil), msg...))
	room.mu.Lock()
	defer room.mu.Unlock()
	for cl := range room.clients {
		select {
		case cl.send <- pm:
		default:
			go cl.c.Close(wsproto.ClosePolicyViolation, "too slow")
			delete(room.clients, cl)
		}
	}
}

func (cl *chatClient) writeLoop(done <-chan struct{}) {
	for {
		select {
		case pm := <-cl.send:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := cl.c.WritePrepared(ctx, pm)
			cancel()
			if err != nil {
				cl.c.CloseNow()
				return
			}
		case <-done:
			return
		}
	}
}
