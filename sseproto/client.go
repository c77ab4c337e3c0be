package sseproto

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for ClientOptions.
const (
	// DefaultReconnectTime is a Client's reconnection time until the
	// server sets one with a retry field. HTML §9.2.3: "an
	// implementation-defined value, probably in the region of a few
	// seconds".
	DefaultReconnectTime = 3 * time.Second
	// DefaultMaxBackoff caps the exponential backoff a Client adds after
	// failed attempts.
	DefaultMaxBackoff = 30 * time.Second
)

// backoffFloor is the smallest base of the exponential backoff, so that a
// server that sets "retry: 0" and then keeps failing is not hammered.
const backoffFloor = 250 * time.Millisecond

// State is a Client's state, numbered like EventSource.readyState.
type State int32

// The states of a Client.
const (
	// Connecting: before Run, while connecting, and while waiting to
	// reconnect (readyState CONNECTING, 0).
	Connecting State = iota
	// Open: a stream is open and events are being delivered (OPEN, 1).
	Open
	// Closed: Run has returned (CLOSED, 2).
	Closed
)

// String returns "connecting", "open" or "closed".
func (s State) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Open:
		return "open"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// ResponseError is the error Client.Run returns when a response fails the
// connection for good: a status other than 200 (and 204, which ends Run
// without error), or a Content-Type that is not text/event-stream.
type ResponseError struct {
	StatusCode  int    // the response's status code
	ContentType string // the response's Content-Type header
}

// Error describes the status or the content type that was refused.
func (e *ResponseError) Error() string {
	if e.StatusCode != http.StatusOK {
		return fmt.Sprintf("sseproto: server answered %d %s, want 200",
			e.StatusCode, http.StatusText(e.StatusCode))
	}
	return fmt.Sprintf("sseproto: server answered Content-Type %q, want text/event-stream", e.ContentType)
}

// ClientOptions configures a Client. The zero value (or nil) gives the
// defaults. NewClient copies it.
type ClientOptions struct {
	// HTTPClient makes the requests and follows redirects (301, 302, 303,
	// 307, 308). Its Timeout must be zero, or it cuts every stream.
	// Default http.DefaultClient.
	HTTPClient *http.Client
	// Header holds extra request headers, such as Authorization. Accept,
	// Cache-Control and Last-Event-ID are set by the Client. Default none.
	Header http.Header
	// LastEventID is the last event ID to resume from: sent as
	// Last-Event-ID on the first request. Default "".
	LastEventID string
	// ReconnectTime is the wait before reconnecting until the server sets
	// another with a retry field. Zero or negative means
	// DefaultReconnectTime (3 s).
	ReconnectTime time.Duration
	// MaxBackoff caps the exponential backoff, with jitter, that grows the
	// wait after attempts that delivered no event. A reconnection time set
	// by the server is honoured even when larger. Zero or negative means
	// DefaultMaxBackoff (30 s).
	MaxBackoff time.Duration
	// MaxEventSize is the decoder's limit (see DecoderOptions). A stream
	// that goes past it ends Run with ErrLineTooLong or ErrEventTooLarge.
	// Zero or negative means DefaultMaxEventSize (1 MiB).
	MaxEventSize int
	// OnStateChange, if not nil, is called from Run's goroutine when a
	// stream opens (Open, nil), before each wait to reconnect (Connecting,
	// the reason, io.EOF for a stream the server ended), and when Run
	// returns (Closed, Run's result). It must not block for long.
	OnStateChange func(s State, err error)
}

// A Client is an EventSource: it connects to a URL, delivers the events of
// the stream, and reconnects when the stream drops, following the HTML
// standard, §9.2.3 "Processing model".
//
// Run delivers events and may be called again after it returns, resuming
// from the last event ID; State and LastEventID may be called at any time,
// from any goroutine.
type Client struct {
	url        string // the URL of the next request: the last final URL
	hc         *http.Client
	header     http.Header
	maxEvent   int
	maxBackoff time.Duration
	onState    func(State, error)
	running    atomic.Bool

	mu        sync.Mutex
	state     State
	lastID    string
	reconnect time.Duration

	// Seams for tests: how the Client waits, and the jitter in [0, 1).
	sleep  func(ctx context.Context, d time.Duration) error
	jitter func() float64
}

// errRunning is returned by Run when another Run is in progress.
var errRunning = errors.New("sseproto: Client.Run is already running")

// NewClient returns a Client for the http or https URL rawURL. It does not
// connect; Run does. opts may be nil.
func NewClient(rawURL string, opts *ClientOptions) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("sseproto: invalid URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("sseproto: invalid URL %q: want http:// or https:// and a host", rawURL)
	}
	c := &Client{
		url:        u.String(),
		hc:         http.DefaultClient,
		maxEvent:   DefaultMaxEventSize,
		maxBackoff: DefaultMaxBackoff,
		reconnect:  DefaultReconnectTime,
		sleep:      sleepContext,
		jitter:     rand.Float64,
	}
	if opts != nil {
		if opts.HTTPClient != nil {
			c.hc = opts.HTTPClient
		}
		c.header = opts.Header.Clone()
		c.lastID = opts.LastEventID
		if opts.ReconnectTime > 0 {
			c.reconnect = opts.ReconnectTime
		}
		if opts.MaxBackoff > 0 {
			c.maxBackoff = opts.MaxBackoff
		}
		if opts.MaxEventSize > 0 {
			c.maxEvent = opts.MaxEventSize
		}
		c.onState = opts.OnStateChange
	}
	return c, nil
}

// State returns the Client's current state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// LastEventID returns the last event ID string: what the Client sends as
// Last-Event-ID when it reconnects.
func (c *Client) LastEventID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastID
}

// Run connects and calls fn with each event, in order, from the calling
// goroutine, until the stream ends for good. When a stream drops or cannot
// be reached it waits and reconnects, sending Last-Event-ID. The wait is
// the reconnection time (set by the server's retry field), plus an
// exponential backoff with jitter, capped by MaxBackoff, after attempts that
// delivered no event.
//
// Run returns nil when the server answers 204 No Content; a *ResponseError
// for another status than 200 or a Content-Type other than
// text/event-stream; ErrLineTooLong or ErrEventTooLarge for a stream over
// the size limit; the error fn returned, if any; and ctx.Err() when ctx is
// done.
func (c *Client) Run(ctx context.Context, fn func(Event) error) error {
	if !c.running.CompareAndSwap(false, true) {
		return errRunning
	}
	defer c.running.Store(false)
	c.mu.Lock()
	c.state = Connecting
	c.mu.Unlock()
	failures := 0
	for {
		delivered, again, err := c.connect(ctx, fn)
		if !again {
			c.setState(Closed, err)
			return err
		}
		// §9.2.3 "reestablish the connection": "Wait a delay equal to the
		// reconnection time of the event source. Optionally, wait some
		// more. In particular, if the previous attempt failed, then user
		// agents might introduce an exponential backoff delay".
		if delivered {
			failures = 0
		} else {
			failures++
		}
		c.setState(Connecting, err)
		if err := c.sleep(ctx, c.delay(failures)); err != nil {
			c.setState(Closed, err)
			return err
		}
	}
}

// connect makes one request and delivers its events. It reports whether
// any event was delivered, and whether to reconnect (with err the reason)
// or to stop (with err Run's result).
func (c *Client) connect(ctx context.Context, fn func(Event) error) (delivered, again bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return false, false, err
	}
	if c.header != nil {
		req.Header = c.header.Clone()
	}
	// §9.2.2: the request's header list holds (`Accept`,
	// `text/event-stream`) and its cache mode is "no-store", which this
	// Client states on the wire as Cache-Control: no-store. (Fetch turns
	// that mode into Cache-Control: no-cache in browsers.)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-store")
	// §9.2.3: "If the EventSource object's last event ID string is not the
	// empty string, then: ... Set (`Last-Event-ID`, lastEventIDValue) in
	// request's header list."
	lastID := c.LastEventID()
	req.Header.Del("Last-Event-ID")
	if lastID != "" && validHeaderValue(lastID) {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, false, ctx.Err()
		}
		// "if res is a network error, reestablish the connection"
		return false, true, err
	}
	defer resp.Body.Close()
	ct := resp.Header.Get("Content-Type")
	switch {
	case resp.StatusCode == http.StatusNoContent:
		// §9.2.7: "a client can be told to stop reconnecting using the
		// HTTP 204 No Content response code."
		return false, false, nil
	case resp.StatusCode != http.StatusOK || !isEventStream(ct):
		// §9.2.3: "if res's status is not 200, or if res's `Content-Type`
		// is not `text/event-stream`, then fail the connection."
		return false, false, &ResponseError{StatusCode: resp.StatusCode, ContentType: ct}
	}
	// Redirects append to the request's URL list and a reconnection
	// fetches the request's current URL, the last one (whatwg/html#503);
	// browsers reconnect there too.
	c.url = resp.Request.URL.String()
	c.setState(Open, nil)
	dec := NewDecoder(resp.Body, &DecoderOptions{MaxEventSize: c.maxEvent, LastEventID: lastID})
	for {
		ev, err := dec.Next()
		c.setLastID(dec.LastEventID())
		if err != nil {
			if r, ok := dec.Retry(); ok {
				c.setReconnect(r)
			}
			if ctx.Err() != nil {
				return delivered, false, ctx.Err()
			}
			if errors.Is(err, ErrLineTooLong) || errors.Is(err, ErrEventTooLarge) {
				return delivered, false, err
			}
			return delivered, true, err
		}
		delivered = true
		if err := fn(ev); err != nil {
			return delivered, false, err
		}
	}
}

// delay returns the wait before the next attempt after failures attempts
// in a row that delivered no event.
func (c *Client) delay(failures int) time.Duration {
	c.mu.Lock()
	r := c.reconnect
	c.mu.Unlock()
	if failures == 0 {
		return r
	}
	b := max(r, backoffFloor)
	for i := 0; i < failures && b < c.maxBackoff; i++ {
		if b > math.MaxInt64/2 {
			b = math.MaxInt64
			break
		}
		b *= 2
	}
	b = min(b, c.maxBackoff)
	d := b/2 + time.Duration(c.jitter()*float64(b/2))
	return max(d, r)
}

func (c *Client) setState(s State, err error) {
	c.mu.Lock()
	c.state = s
	c.mu.Unlock()
	if c.onState != nil {
		c.onState(s, err)
	}
}

func (c *Client) setLastID(id string) {
	c.mu.Lock()
	c.lastID = id
	c.mu.Unlock()
}

func (c *Client) setReconnect(d time.Duration) {
	c.mu.Lock()
	c.reconnect = d
	c.mu.Unlock()
}

// isEventStream reports whether a Content-Type's essence is
// text/event-stream; parameters, even a bare trailing ";", are allowed.
func isEventStream(ct string) bool {
	essence, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.Trim(essence, " \t"), "text/event-stream")
}

// validHeaderValue reports whether net/http will send s as a header value.
// An id holding other control characters than tab cannot be sent; the
// Client then reconnects without Last-Event-ID.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// sleepContext waits for d or until ctx is done.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
