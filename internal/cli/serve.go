package cli

import (
	"context"
	"crypto/tls"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
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

// chatHistory is how many chat messages the log holds, whatever their
// size, and chatType the type of their entries.
const (
	chatHistory = 1000
	chatType    = "chat"
)

// maxChatEntry is the largest entry the chat publishes: the JSON object of
// chatMessage with a maxNick-character nickname and a maxChatMessage-byte
// text, each byte of which JSON may write as six (\u003c), and the time.
const maxChatEntry = len(`{"nick":"","text":"","time":""}`) + 6*maxNick + 6*maxChatMessage + len("2006-01-02T15:04:05.999999999Z")

const serveUsage = `usage: pushwire serve [flags]

The demo application: a page at / with a chat (nicknames, timestamps, who
is online with the transport and HTTP version each page uses) served from
one log at /chat over WebSocket, Server-Sent Events, long polling or iframe
streaming (the page picks, and falls back), with /pushwire.js as its
client, and a clock over Server-Sent Events at /events. With -tls it
serves HTTPS and HTTP/2, and browsers open the chat's WebSocket over HTTP/2
(RFC 8441).

Unless the environment sets GOGC or GOMEMLIMIT, the garbage collector runs
at GOGC=50: half the heap headroom per idle connection of the default.

flags:
`

// runServe implements `pushwire serve`: the demo application.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, cfg *Config) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	rate := fs.Float64("publish-rate", 5, "chat messages per second one client (an IPv4 address or IPv6 /64) may publish on average; 0: no limit")
	burst := fs.Int("publish-burst", 10, "chat messages one client may publish at once before -publish-rate applies")
	pollTimeout := fs.Duration("poll-timeout", chatPollTimeout, "how long a long poll of /chat waits for a message before it is answered with none (clients may ask for less); a load test of waiting polls sets it above its own length")
	engineURL := fs.String("engine", "", "keep the chat log in a shared engine, such as nats://HOST:PORT (NATS JetStream) or redis://HOST:PORT (Redis Streams), so that several serve nodes share it; default: in this process's memory")
	debugAddr := addDebugFlag(fs)
	tf := addTLSFlags(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		fs.PrintDefaults()
	}
	if ok, code := parseFlags(fs, args, 0); !ok {
		return code
	}
	if *pollTimeout <= 0 {
		fmt.Fprintf(stderr, "pushwire serve: -poll-timeout %v: want a positive duration\n", *pollTimeout)
		return 2
	}
	defer setServerGC()()
	chat, closeChat, err := openChat(ctx, *engineURL, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "pushwire serve: %v\n", err)
		return 1
	}
	defer closeChat()
	ln, tlsCfg, stopDebug, ok := listen("serve", *addr, *debugAddr, tf, stdout, stderr, func(ln net.Listener, tlsCfg *tls.Config) {
		fmt.Fprintf(stdout, "pushwire serve: open %s://%s/ (chat at /chat over WebSocket, SSE, long polling or iframe streaming; clock over SSE at /events)\n", scheme(tlsCfg, "http"), ln.Addr())
		if *engineURL != "" {
			fmt.Fprintf(stdout, "pushwire serve: chat log on %s, epoch %s\n", *engineURL, chat.Epoch())
		}
	})
	if !ok {
		return 1
	}
	defer stopDebug()
	d := newDemo(chat, newPublishLimiter(*rate, *burst), *pollTimeout)
	// End the chat streams first (WebSocket close 1001, the others end), so
	// that Shutdown does not wait for them; clients reconnect with their
	// cursors to the next process.
	code := serveHTTP(ctx, ln, d.mux, tlsCfg, func(ctx context.Context) { d.chat.Shutdown(ctx) }, stderr)
	d.chat.Close()
	d.close()
	return code
}

// chatPollTimeout is how long a long poll of /chat waits by default:
// below the 30 s idle timeouts of common proxies.
const chatPollTimeout = 20 * time.Second

// chatOptions are the chat log's limits: the last chatHistory messages,
// with room for as many of the largest (an entry counts len(Type)+len(Data)
// against MaxBytes).
var chatOptions = hub.TopicOptions{
	MaxEntries: chatHistory,
	MaxBytes:   chatHistory * (len(chatType) + maxChatEntry),
}

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

// demo is the demo's routes, the chat handler that serves the topic, and
// the list of who is online.
type demo struct {
	mux      *http.ServeMux
	chat     *httpstream.Handler
	presence *presence
}

// chatMessage is what a page sends (nick and text) and what is published
// (with the server's time).
type chatMessage struct {
	Nick string `json:"nick"`
	Text string `json:"text"`
	Time string `json:"time,omitempty"`
}

// newDemo returns the demo's routes over the chat topic: the page and its
// script, style and icon, the chat at /chat on every transport, the
// browser client, who is online at /presence, and the SSE clock. A long
// poll of /chat waits at most pollTimeout (0: chatPollTimeout).
// Publishing is limited per client by lim (nil: no limit): a POST over the
// limit is answered with 429 and Retry-After, a WebSocket message with an
// error record; the client's streams and everyone else go on unaffected.
func newDemo(chat *hub.Topic, lim *publishLimiter, pollTimeout time.Duration) *demo {
	if pollTimeout <= 0 {
		pollTimeout = chatPollTimeout
	}
	h := httpstream.NewHandler(chat, &httpstream.Options{
		PollTimeout: pollTimeout,
		KeepAlive:   10 * time.Second,
		Retry:       500 * time.Millisecond,
		OnPublish: func(r *http.Request, data []byte) error {
			var m chatMessage
			if err := json.Unmarshal(data, &m); err != nil {
				return errors.New(`a message is {"nick":…,"text":…}`)
			}
			nick, err := checkNick(m.Nick)
			if err != nil {
				return err
			}
			if len(m.Text) == 0 || len(m.Text) > maxChatMessage || !utf8.ValidString(m.Text) {
				return fmt.Errorf("a message has 1 to %d bytes of UTF-8 text", maxChatMessage)
			}
			out, _ := json.Marshal(chatMessage{Nick: nick, Text: m.Text, Time: time.Now().UTC().Format(time.RFC3339Nano)})
			// A POST was counted by limitPOST; r of a WebSocket
			// message is its upgrade request.
			if r.Method != http.MethodPost {
				if err := lim.check(r); err != nil {
					return err
				}
			}
			// An engine-backed topic retries while its engine is
			// unavailable; the client waits at most this long.
			ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
			defer cancel()
			_, err = chat.Publish(ctx, chatType, out)
			return err
		},
	})
	d := &demo{mux: http.NewServeMux(), chat: h, presence: newPresence(chat, 10*time.Second, 25*time.Second)}
	mux := d.mux
	mux.HandleFunc("GET /{$}", staticFile(demoPage, "text/html; charset=utf-8"))
	mux.HandleFunc("GET /demo.js", staticFile(demoScript, "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /demo.css", staticFile(demoStyle, "text/css; charset=utf-8"))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/x-icon")
		w.Header().Set("Cache-Control", "max-age=86400")
		w.Write(favicon)
	})
	mux.Handle("POST /presence", http.NewCrossOriginProtection().Handler(d.presence))
	mux.Handle("/chat", lim.limitPOST(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			// What the page's stream really runs on: HTTP/1.1, or
			// HTTP/2.0 (WebSocket over HTTP/2 with -tls).
			d.presence.sawStream(r.URL.Query().Get("page"), r.Proto)
		}
		h.ServeHTTP(w, r)
	})))
	mux.Handle("GET /pushwire.js", h)
	mux.Handle("GET /events", newEventsHandler())
	return d
}

// close stops what the demo runs beside its handlers.
func (d *demo) close() { d.presence.close() }

//go:embed demo.js
var demoScript []byte

//go:embed demo.css
var demoStyle []byte

// staticFile serves one of the page's files with the page's security
// headers.
func staticFile(body []byte, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w, r)
		w.Header().Set("Content-Type", contentType)
		w.Write(body)
	}
}

// pageHeaders sets the security headers of the demo's page: a
// Content-Security-Policy that allows scripts, styles, images, frames and
// connections from this origin only (and no inline script), and that no
// other site may frame the page (frame-ancestors 'none', and
// X-Frame-Options for browsers without CSP level 2).
func pageHeaders(w http.ResponseWriter, r *http.Request) {
	connect := "'self'"
	if hostPattern.MatchString(r.Host) {
		// 'self' covers ws: and wss: in CSP level 3; older browsers need
		// the origins spelled out.
		connect += " ws://" + r.Host + " wss://" + r.Host
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src "+connect+"; frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}

// hostPattern is a Host header safe to write into the policy.
var hostPattern = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$`)
