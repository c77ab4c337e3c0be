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

const serveUsage = `usage: pushwire serve [flags]

The demo application: a page at / with a chat served from one log at /chat
over WebSocket, Server-Sent Events, long polling or iframe streaming (the
page picks, and falls back), with /pushwire.js as its client, and a clock
over Server-Sent Events at /events. With -tls it serves HTTPS and HTTP/2,
and browsers open the chat's WebSocket over HTTP/2 (RFC 8441).

flags:
`

// runServe implements `pushwire serve`: the demo application.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	tf := addTLSFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
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
	d := newDemo(chat)
	// End the chat streams first (WebSocket close 1001, the others end), so
	// that Shutdown does not wait for them; clients reconnect with their
	// cursors to the next process.
	code := serveHTTP(ctx, ln, d.mux, tlsCfg, func(ctx context.Context) { d.chat.Shutdown(ctx) }, stderr)
	d.chat.Close()
	return code
}

// newChatTopic returns the topic that holds the chat log.
func newChatTopic() *hub.Topic {
	return hub.NewTopic(&hub.TopicOptions{MaxEntries: 1000})
}

// demo is the demo's routes and the chat handler that serves the topic.
type demo struct {
	mux  *http.ServeMux
	chat *httpstream.Handler
}

// newDemo returns the demo's routes over the chat topic: the page, the chat
// at /chat on every transport, the browser client, and the SSE clock.
func newDemo(chat *hub.Topic) *demo {
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
			_, err := chat.Publish(r.Context(), "chat", data)
			return err
		},
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(demoPage)
	})
	mux.Handle("/chat", h)
	mux.Handle("GET /pushwire.js", h)
	mux.Handle("GET /events", newEventsHandler())
	return &demo{mux: mux, chat: h}
}
