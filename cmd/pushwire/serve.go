package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/pushwire/pushwire/httpstream"
	"github.com/pushwire/pushwire/hub"
)

//go:embed demo.html
var demoPage []byte

// maxChatMessage bounds one chat message, in bytes.
const maxChatMessage = 2000

// chatHistory is how many chat messages the log holds, whatever their
// size, and chatType the type of their entries.
const (
	chatHistory = 1000
	chatType    = "chat"
)

// runServe implements `pushwire serve`: the demo application.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	rate := fs.Float64("publish-rate", 5, "chat messages per second one client (an IPv4 address or IPv6 /64) may publish on average; 0: no limit")
	burst := fs.Int("publish-burst", 10, "chat messages one client may publish at once before -publish-rate applies")
	tf := addTLSFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	tlsCfg, err := tf.config(stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "pushwire serve: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "pushwire serve: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "pushwire serve: open %s://%s/ (chat at /chat over WebSocket, SSE, long polling or iframe streaming; clock over SSE at /events)\n", scheme(tlsCfg, "http"), ln.Addr())
	chat := newChatTopic()
	d := newDemo(chat, newPublishLimiter(*rate, *burst))
	// End the chat streams first (WebSocket close 1001, the others end), so
	// that Shutdown does not wait for them; clients reconnect with their
	// cursors to the next process.
	code := serveHTTP(ctx, ln, d.mux, tlsCfg, func(ctx context.Context) { d.chat.Shutdown(ctx) }, stderr)
	d.chat.Close()
	return code
}

// newChatTopic returns the topic that holds the chat log: the last
// chatHistory messages, with room for as many of the largest.
func newChatTopic() *hub.Topic {
	return hub.NewTopic(&hub.TopicOptions{
		MaxEntries: chatHistory,
		// An entry counts len(Type)+len(Data) against MaxBytes.
		MaxBytes: chatHistory * (len(chatType) + maxChatMessage),
	})
}

// demo is the demo's routes and the chat handler that serves the topic.
type demo struct {
	mux  *http.ServeMux
	chat *httpstream.Handler
}

// newDemo returns the demo's routes over the chat topic: the page, the chat
// at /chat on every transport, the browser client, and the SSE clock.
// Publishing is limited per client by lim (nil: no limit): a POST over the
// limit is answered with 429 and Retry-After, a WebSocket message with an
// error record; the client's streams and everyone else go on unaffected.
func newDemo(chat *hub.Topic, lim *publishLimiter) *demo {
	h := httpstream.NewHandler(chat, &httpstream.Options{
		PollTimeout: 20 * time.Second,
		KeepAlive:   10 * time.Second,
		Retry:       500 * time.Millisecond,
		OnPublish: func(r *http.Request, data []byte) error {
			if len(data) == 0 || len(data) > maxChatMessage {
				return fmt.Errorf("a message has 1 to %d bytes", maxChatMessage)
			}
			if !utf8.Valid(data) {
				return errors.New("a message is UTF-8 text")
			}
			// A POST was counted by limitPOST; r of a WebSocket
			// message is its upgrade request.
			if r.Method != http.MethodPost {
				if err := lim.check(r); err != nil {
					return err
				}
			}
			_, err := chat.Publish(r.Context(), chatType, data)
			return err
		},
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(demoPage)
	})
	mux.Handle("/chat", lim.limitPOST(h))
	mux.Handle("GET /pushwire.js", h)
	mux.Handle("GET /events", newEventsHandler())
	return &demo{mux: mux, chat: h}
}
