package httpstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/internal/backoff"
	"github.com/pushwire/pushwire/wsproto"
)

// ClientOptions configures a Client. The zero value, and nil, give the
// defaults documented on each field. NewClient copies the struct.
type ClientOptions struct {
	// Transports lists the transports to use, in order of preference:
	// "websocket", "sse" and "poll" (long polling). The Client moves to the
	// next one when a transport fails to open twice in a row. Default:
	// all three, in that order.
	Transports []string

	// Cursor is where to start: "" for the entries published from now on,
	// "oldest" for all that the log holds, or a cursor that Client.Cursor
	// returned before, to resume after it. Default: "".
	Cursor string

	// HTTPClient makes the SSE and long-poll requests and Send's POSTs.
	// Its Timeout must be zero, or it cuts every stream. Default:
	// http.DefaultClient.
	HTTPClient *http.Client

	// Header holds headers for every request and WebSocket handshake, such
	// as Authorization. Default: none.
	Header http.Header

	// WebSocket configures the WebSocket dial (TLS, proxy, heartbeats,
	// compression); its Header is added to Header. Default: nil.
	WebSocket *wsproto.DialOptions

	// MinDelay and MaxDelay bound the wait before a reconnection: it
	// starts at MinDelay and doubles after each attempt that failed, up to
	// MaxDelay, each wait drawn from [w/2, w). Defaults (0): 250 ms and
	// 10 s, as pushwire.js.
	MinDelay, MaxDelay time.Duration

	// PollTimeout is how long the server may hold a long poll, sent as its
	// timeout parameter. Default (0): 25 s.
	PollTimeout time.Duration

	// OnGap, when set, is called when the log no longer held entries after
	// the client's cursor: gap.Lost entries are gone, and the next entry
	// is gap.Oldest. Default: nil.
	OnGap func(gap hub.GapError)

	// OnReset, when set, is called when the client's cursor is not in the
	// log's current history (the log of a restarted process, a wiped
	// shared log): reset.From is that cursor, and the client goes on from
	// reset.Cursor(), the start of the current history. Entries of the old
	// history that the client did not receive are lost with it. Default:
	// nil.
	OnReset func(reset hub.ResetError)

	// OnConnect, when set, is called each time a transport opens: the
	// first time and after every reconnection. Default: nil.
	OnConnect func(transport string)

	// OnDisconnect, when set, is called when a connection ends or an
	// attempt fails, with the reason and the wait before the next attempt
	// (on transport, which may differ from the one that failed). Default:
	// nil.
	OnDisconnect func(err error, transport string, wait time.Duration)
}

// A Client reads a log that a Handler serves, as /pushwire.js does in a
// browser: over WebSocket, Server-Sent Events or long polling, falling back
// from one to the next when a transport fails to open twice in a row,
// reconnecting with exponential backoff and jitter, and resuming from the
// cursor of the last record it received. Every entry arrives exactly once
// and in order, whatever the transports and reconnections, as long as the
// log still holds it; otherwise OnGap says what was lost, and OnReset when
// the log itself started a new history.
//
// Run delivers the entries; Cursor, Transport and Send may be called from
// any goroutine at any time.
type Client struct {
	base   *url.URL
	opts   ClientOptions
	hc     *http.Client
	jitter func() float64 // for tests

	mu        sync.Mutex
	cursor    string
	transport string
}

// NewClient returns a Client of the Handler at rawURL, an http:// or
// https:// URL (ws:// and wss:// are taken as the same). It does not
// connect; Run does. opts may be nil.
func NewClient(rawURL string, opts *ClientOptions) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("httpstream: %w", err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "http"
	case "https", "wss":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("httpstream: %s: scheme must be http or https", rawURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("httpstream: %s: no host", rawURL)
	}
	u.Fragment = ""
	c := &Client{base: u}
	if opts != nil {
		c.opts = *opts
	}
	o := &c.opts
	if len(o.Transports) == 0 {
		o.Transports = []string{transportWebSocket, transportSSE, transportPoll}
	}
	for _, t := range o.Transports {
		switch t {
		case transportWebSocket, transportSSE, transportPoll:
		default:
			return nil, fmt.Errorf("httpstream: unknown transport %q (websocket, sse or poll)", t)
		}
	}
	if _, err := hub.ParseCursor(o.Cursor); err != nil {
		return nil, fmt.Errorf("httpstream: cursor %q: %w", o.Cursor, err)
	}
	if o.MinDelay <= 0 {
		o.MinDelay = 250 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 10 * time.Second
	}
	o.MaxDelay = max(o.MaxDelay, o.MinDelay)
	if o.PollTimeout <= 0 {
		o.PollTimeout = DefaultPollTimeout
	}
	c.hc = o.HTTPClient
	if c.hc == nil {
		c.hc = http.DefaultClient
	}
	c.cursor = o.Cursor
	c.transport = o.Transports[0]
	return c, nil
}

// Cursor returns the cursor after the last record received: pass it as
// ClientOptions.Cursor to resume later, in this process or another.
func (c *Client) Cursor() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cursor
}

// Transport returns the transport in use, or about to be tried.
func (c *Client) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transport
}

// Send publishes data through the Handler's OnPublish, with a POST request,
// and returns its refusal, if any, as an error holding the server's reason.
func (c *Client) Send(ctx context.Context, data []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String(), bytes.NewReader(data))
	if err != nil {
		return err
	}
	c.setHeaders(req.Header)
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("httpstream: send: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("httpstream: send refused: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// errStop ends Run with the error fn returned.
type errStop struct{ err error }

func (e errStop) Error() string { return e.err.Error() }

// Run connects and calls fn with each entry, in order, from the calling
// goroutine, until ctx is done (it returns ctx.Err()) or fn returns an
// error (it returns that error). Between connections it waits and
// reconnects, resuming from the cursor; OnGap and OnReset are called from
// the same goroutine, in order with the entries. A refusal that retrying
// cannot change (a 4xx status other than 408 and 429, such as a malformed
// cursor or a missing authorization) ends Run with an error naming the
// status. Entries have Seq, Type and Data; their Time is zero.
//
// Run may be called again after it returned, and resumes from Cursor.
func (c *Client) Run(ctx context.Context, fn func(hub.Entry) error) error {
	b := backoff.Backoff{Min: c.opts.MinDelay, Max: c.opts.MaxDelay, Jitter: c.jitter}
	index, failures := 0, 0
	for {
		transport := c.opts.Transports[index]
		c.mu.Lock()
		c.transport = transport
		c.mu.Unlock()
		s := &session{c: c, fn: fn}
		var err error
		switch transport {
		case transportWebSocket:
			err = s.websocket(ctx)
		case transportSSE:
			err = s.sse(ctx)
		default:
			err = s.poll(ctx)
		}
		var stop errStop
		switch {
		case errors.As(err, &stop):
			return stop.err
		case ctx.Err() != nil:
			return ctx.Err()
		case permanent(err):
			return err
		}
		if s.opened {
			b.Reset()
			failures = 0
		} else if failures++; failures >= 2 && index < len(c.opts.Transports)-1 {
			index++
			failures = 0
		}
		wait := b.Next()
		if c.opts.OnDisconnect != nil {
			c.opts.OnDisconnect(err, c.opts.Transports[index], wait)
		}
		if err := backoff.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// statusError is a refusal of a request.
type statusError struct {
	transport string
	status    int
	reason    string
	final     bool // a 4xx ends Run
}

func (e *statusError) Error() string {
	return fmt.Sprintf("httpstream: %s refused: %d %s: %s", e.transport, e.status, http.StatusText(e.status), e.reason)
}

// permanent reports whether err is a refusal that retrying cannot change.
func permanent(err error) bool {
	var se *statusError
	if !errors.As(err, &se) || !se.final {
		return false
	}
	switch se.status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return se.status >= 400 && se.status < 500
}

// setHeaders adds the options' headers to h.
func (c *Client) setHeaders(h http.Header) {
	for k, vs := range c.opts.Header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
}

// endpoint returns the URL of a request on transport with the current
// cursor and the extra query parameters.
func (c *Client) endpoint(transport string, extra ...string) *url.URL {
	u := *c.base
	q := u.Query()
	q.Set("transport", transport)
	q.Set("cursor", c.Cursor())
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	u.RawQuery = q.Encode()
	return &u
}
