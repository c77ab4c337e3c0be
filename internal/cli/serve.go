package cli

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pushwire/pushwire/httpstream"
	"github.com/pushwire/pushwire/hub"
)

//go:embed demo.html
var demoPage []byte

// maxChatMessage bounds one chat message, in bytes.
const maxChatMessage = 2000

// runServe implements `pushwire serve`: the demo application.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, cfg *Config) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	engineURL := fs.String("engine", "", "keep the chat log in a shared engine, such as nats://HOST:PORT (NATS JetStream), so that several serve nodes share it; default: in this process's memory")
	debugAddr := addDebugFlag(fs)
	tf := addTLSFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	chat, closeChat, err := openChat(ctx, *engineURL, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "pushwire serve: %v\n", err)
		return 1
	}
	defer closeChat()
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
	if *engineURL != "" {
		fmt.Fprintf(stdout, "pushwire serve: chat log on %s, epoch %s\n", *engineURL, chat.Epoch())
	}
	stopDebug, err := startDebug("serve", *debugAddr, stdout)
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "pushwire serve: %v\n", err)
		return 1
	}
	defer stopDebug()
	d := newDemo(chat)
	// End the chat streams first (WebSocket close 1001, the others end), so
	// that Shutdown does not wait for them; clients reconnect with their
	// cursors to the next process.
	code := serveHTTP(ctx, ln, d.mux, tlsCfg, func(ctx context.Context) { d.chat.Shutdown(ctx) }, stderr)
	d.chat.Close()
	return code
}

// chatOptions are the chat log's limits.
var chatOptions = hub.TopicOptions{MaxEntries: 1000}

// newChatTopic returns the in-memory topic that holds the chat log.
func newChatTopic() *hub.Topic {
	opts := chatOptions
	return hub.NewTopic(&opts)
}

// openChat returns the chat topic: in memory, or on the engine that
// engineURL names, and the function that closes it and its engine.
func openChat(ctx context.Context, engineURL string, cfg *Config) (*hub.Topic, func(), error) {
	if engineURL == "" {
		t := newChatTopic()
		return t, func() { t.Close() }, nil
	}
	u, err := url.Parse(engineURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, nil, fmt.Errorf("-engine %q: want SCHEME://HOST:PORT, such as nats://127.0.0.1:4222", engineURL)
	}
	open := cfg.Engines[u.Scheme]
	if open == nil {
		var have []string
		for s := range cfg.Engines {
			have = append(have, s+"://")
		}
		sort.Strings(have)
		return nil, nil, fmt.Errorf("-engine %q: this build of pushwire has no %s engine (it has: %s)", engineURL, u.Scheme, strings.Join(append(have, "none"), ", "))
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	eng, err := open(octx, engineURL)
	if err != nil {
		return nil, nil, fmt.Errorf("-engine %s: %w", engineURL, err)
	}
	opts := chatOptions
	t, err := hub.OpenTopic(octx, eng, "chat", &opts)
	if err != nil {
		eng.Close()
		return nil, nil, fmt.Errorf("-engine %s: opening the chat log: %w", engineURL, err)
	}
	return t, func() { t.Close(); eng.Close() }, nil
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
			// An engine-backed topic retries while its engine is
			// unavailable; the client waits at most this long.
			ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
			defer cancel()
			_, err := chat.Publish(ctx, "chat", data)
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
