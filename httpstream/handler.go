package httpstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/internal/oneline"
	"github.com/pushwire/pushwire/wsproto"
)

// Defaults for Options.
const (
	// DefaultPollTimeout is how long a long poll is held when nothing is
	// published.
	DefaultPollTimeout = 25 * time.Second
	// DefaultMaxBatch is how many entries one poll response, or one flush of
	// a stream, carries at most.
	DefaultMaxBatch = 256
	// DefaultKeepAlive is how long a stream stays silent before the handler
	// writes a keep-alive.
	DefaultKeepAlive = 15 * time.Second
	// DefaultWriteTimeout bounds each write to a client.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultPadding is how many bytes of whitespace open a chunked or
	// iframe stream.
	DefaultPadding = 2048
	// DefaultMaxMessageSize bounds what a client may send: a POST body or a
	// WebSocket message.
	DefaultMaxMessageSize = 64 << 10
)

// Options configures a Handler. The zero value, and nil, give the defaults
// documented on each field. NewHandler copies the struct.
type Options struct {
	// PollTimeout is how long a long poll waits for an entry before it
	// answers with none. A client may ask for less with the timeout query
	// parameter (whole seconds); timeout=0 is short polling. Zero means
	// DefaultPollTimeout (25 s); negative means 0: every poll is a short
	// poll.
	PollTimeout time.Duration

	// MaxBatch bounds the entries of one poll response and of one flush of
	// a stream. Zero or negative means DefaultMaxBatch (256).
	MaxBatch int

	// KeepAlive is how long a stream (SSE, chunked, iframe, WebSocket)
	// stays silent before a keep-alive is written: an SSE comment, a blank
	// line, a newline in the iframe document, a WebSocket ping. Zero means
	// DefaultKeepAlive (15 s); negative disables keep-alives.
	KeepAlive time.Duration

	// WriteTimeout bounds each write. Before writing, the handler moves the
	// connection's write deadline to now plus WriteTimeout (with
	// http.ResponseController for HTTP responses), which both drops a
	// client that stopped reading and keeps an http.Server.WriteTimeout
	// from cutting a live stream. Zero means DefaultWriteTimeout (10 s);
	// negative leaves deadlines alone.
	WriteTimeout time.Duration

	// Padding is how many bytes of whitespace open a chunked or iframe
	// stream, for proxies and old browsers that hold back the first
	// kilobytes of a response. Zero means DefaultPadding (2048); negative
	// means none.
	Padding int

	// Retry, if positive, is sent at the start of an SSE stream as the
	// retry field: the reconnection time an EventSource should use.
	// Default: none.
	Retry time.Duration

	// MaxMessageSize bounds a message a client sends, in a POST body or a
	// WebSocket message. Zero or negative means DefaultMaxMessageSize
	// (64 KiB).
	MaxMessageSize int64

	// OnPublish, if set, receives every message a client sends: the body
	// of a POST request, or a WebSocket text or binary message. It
	// decides what to publish, usually calling Publish on the log after
	// checking the message; an error refuses it (POST answers 400 with
	// the error's text, WebSocket sends an error record). data is valid
	// only during the call. Default nil: clients cannot send, POST answers
	// 405 and a WebSocket message closes the connection with 1003.
	OnPublish func(r *http.Request, data []byte) error

	// WebSocket configures the WebSocket handshake: origin policy,
	// subprotocols, and so on. Its ReadLimit, when zero, becomes
	// MaxMessageSize. Default nil: same-origin connections only.
	WebSocket *wsproto.AcceptOptions
}

// A Handler serves one log over every push transport, chosen by each request
// (see the package documentation), and serves the browser client at any path
// ending in /pushwire.js.
//
// Its methods are safe for concurrent use. After Close, every stream has
// ended and new requests are answered as if the stream had ended at once.
type Handler struct {
	log  hub.Log
	opts Options
	ws   wsproto.AcceptOptions
	coop *http.CrossOriginProtection

	ctx    context.Context // done when Close starts
	cancel context.CancelFunc

	mu      sync.Mutex
	closed  bool
	members member         // list head: the streams and held polls Close reaches
	active  sync.WaitGroup // running streams and polls

	batches    sync.Pool              // *[]hub.Entry of MaxBatch entries: a poll's read (batch.go)
	pollFields atomic.Pointer[[]byte] // the header fields of the last held poll (heldpoll.go)

	expMu    sync.Mutex
	expiries map[time.Duration]*expiryQueue // the held polls by timeout (expiry.go)
}

// A member is a stream's or a held poll's place in its handler's list,
// through which Close ends it.
type member struct {
	prev, next *member
	ender      interface{ shutdown() }
	joined     bool
}

// NewHandler returns a Handler serving log. opts may be nil.
func NewHandler(log hub.Log, opts *Options) *Handler {
	h := &Handler{log: log, coop: http.NewCrossOriginProtection()}
	if opts != nil {
		h.opts = *opts
	}
	o := &h.opts
	switch {
	case o.PollTimeout == 0:
		o.PollTimeout = DefaultPollTimeout
	case o.PollTimeout < 0:
		o.PollTimeout = 0
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = DefaultKeepAlive
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	switch {
	case o.Padding == 0:
		o.Padding = DefaultPadding
	case o.Padding < 0:
		o.Padding = 0
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.WebSocket != nil {
		h.ws = *o.WebSocket
	}
	if h.ws.ReadLimit == 0 {
		h.ws.ReadLimit = o.MaxMessageSize
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h
}

// Close ends every stream and poll the handler is serving and waits for them
// to end: WebSocket connections get a close frame with code 1001 (going
// away), SSE, chunked and iframe streams end their response, and held polls
// answer at once with the entries they have (often none) and their cursor.
// Nothing is lost: the log is not touched, so a client that reconnects with
// its cursor, to this process or another serving the same log, receives
// every entry after it. Requests arriving after Close get the same
// immediate end. Close always returns nil.
func (h *Handler) Close() error {
	return h.Shutdown(context.Background())
}

// Shutdown is Close with a bound: it returns ctx.Err() if ctx is done before
// every stream has ended. Streams are bounded anyway by WriteTimeout and by
// the WebSocket close timeout.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	// Each member only records the shutdown and starts a goroutine to
	// act on it; none waits for h.mu.
	for m := h.members.next; m != nil; m = m.next {
		m.ender.shutdown()
	}
	h.mu.Unlock()
	h.cancel()
	done := make(chan struct{})
	go func() {
		h.active.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// join registers a stream or a held poll, which Close then ends; it
// reports false once the handler is closed.
func (h *Handler) join(m *member) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	m.joined = true
	m.prev, m.next = &h.members, h.members.next
	if m.next != nil {
		m.next.prev = m
	}
	h.members.next = m
	h.active.Add(1)
	return true
}

// leave undoes join, if m joined.
func (h *Handler) leave(m *member) {
	h.mu.Lock()
	if !m.joined {
		h.mu.Unlock()
		return
	}
	m.joined = false
	m.prev.next = m.next
	if m.next != nil {
		m.next.prev = m.prev
	}
	m.prev, m.next = nil, nil
	h.mu.Unlock()
	h.active.Done()
}

// isClosed reports whether Close has started.
func (h *Handler) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// begin registers a running stream or poll; it reports false once the
// handler is closed.
func (h *Handler) begin() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.active.Add(1)
	return true
}

// The transports, as named by the transport query parameter.
const (
	transportWebSocket = "websocket"
	transportSSE       = "sse"
	transportPoll      = "poll"
	transportStream    = "stream"
	transportIframe    = "iframe"
)

// ServeHTTP serves the log, or the browser client at paths ending in
// /pushwire.js.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/pushwire.js") {
		serveScript(w, r)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodConnect:
		// A WebSocket over HTTP/2 (RFC 8441 §4) opens with an extended
		// CONNECT; plain CONNECT is refused below.
		if r.Header.Get(":protocol") != "websocket" {
			w.Header().Set("Allow", "GET, HEAD, POST")
			httpError(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
	case http.MethodPost:
		h.servePublish(w, r)
		return
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		httpError(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	asked := queryValue(r, "transport")
	transport := chooseTransport(r, asked)
	if transport == "" {
		httpError(w, "unknown transport "+asked, http.StatusBadRequest)
		return
	}
	cur, err := requestCursor(r)
	if err != nil {
		// 409 Conflict is the one status that refuses a cursor, and only a
		// malformed one: a well-formed cursor is always served.
		httpError(w, "malformed cursor", http.StatusConflict)
		return
	}
	// A well-formed cursor is always served: one from another history
	// (another epoch, or ahead of the log) gets one reset record, then
	// the entries.
	//
	// A "from now" cursor is resolved here, before the connection is
	// reported open (the 101 of a WebSocket, the headers of a stream, the
	// wait of a poll): whatever is published once a client saw the
	// connection open comes after it, and reaches the client.
	if cur == hub.FromNow() {
		if _, resolved, err := h.log.ReadAfter(r.Context(), cur, nil); err == nil || errors.Is(err, hub.ErrClosed) {
			cur = resolved
		}
	}
	switch transport {
	case transportWebSocket:
		h.serveWebSocket(w, r, cur)
	case transportSSE:
		h.serveSSE(w, r, cur)
	case transportStream:
		h.serveNDJSON(w, r, cur)
	case transportIframe:
		h.serveIframe(w, r, cur)
	default:
		h.servePoll(w, r, cur)
	}
}

// chooseTransport picks the transport of a request: the transport query
// parameter if there is one, else a WebSocket handshake, an Accept header
// asking for text/event-stream or application/x-ndjson, or long polling.
func chooseTransport(r *http.Request, param string) string {
	switch param {
	case transportWebSocket, transportSSE, transportPoll, transportStream, transportIframe:
		return param
	case "":
	default:
		return ""
	}
	if handshake.HeaderHasToken(r.Header, "Upgrade", "websocket") ||
		r.Method == http.MethodConnect && r.Header.Get(":protocol") == "websocket" { // RFC 8441 §4
		return transportWebSocket
	}
	accept := r.Header.Get("Accept")
	switch {
	case strings.Contains(accept, "text/event-stream"):
		return transportSSE
	case strings.Contains(accept, "application/x-ndjson"):
		return transportStream
	}
	return transportPoll
}

// servePublish hands a POST body to OnPublish.
func (h *Handler) servePublish(w http.ResponseWriter, r *http.Request) {
	if h.opts.OnPublish == nil {
		w.Header().Set("Allow", "GET, HEAD")
		httpError(w, "this topic is read-only", http.StatusMethodNotAllowed)
		return
	}
	// A cross-site page can POST a simple request with the user's cookies;
	// refuse it (CSRF).
	if err := h.coop.Check(r); err != nil {
		httpError(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxMessageSize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpError(w, "message too large", http.StatusRequestEntityTooLarge)
			return
		}
		httpError(w, "reading the message failed", http.StatusBadRequest)
		return
	}
	if err := h.opts.OnPublish(r, body); err != nil {
		httpError(w, oneline.Of(err.Error()), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// httpError answers with a status and a one-line plain-text body.
func httpError(w http.ResponseWriter, msg string, code int) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, code)
}
