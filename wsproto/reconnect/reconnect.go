// Package reconnect keeps a WebSocket client connected: a Client dials a
// URL, hands each connection to the application, and when the connection
// ends dials again after an exponential backoff with jitter, until its
// context is done.
//
//	c, err := reconnect.NewClient("wss://example.com/feed", &reconnect.Options{
//		OnConnect: func(conn *wsproto.Conn, resp *http.Response, attempt int) error {
//			return wsjson.Write(ctx, conn, subscribe) // again on every connection
//		},
//	})
//	err = c.Run(ctx, func(ctx context.Context, conn *wsproto.Conn) error {
//		for {
//			_, msg, err := conn.Read(ctx, nil)
//			if err != nil {
//				return err // the connection ended: Run dials again
//			}
//			handle(msg)
//		}
//	})
//
// Messages sent while no connection is open are not kept: what the
// application must not lose, it resends from OnConnect (or uses a protocol
// that resumes, such as the hub protocol of package httpstream).
//
// # Concurrency
//
// Run calls OnConnect, serve and OnDisconnect from its own goroutine, one
// connection at a time. Conn may be called from any goroutine, to write to
// the current connection.
//
// # Limits
//
// The wait before a reconnection starts at MinDelay (500 ms) and doubles
// after each attempt that failed, up to MaxDelay (30 s), each wait drawn
// from [w/2, w). A connection that stayed open for MaxDelay or longer resets
// it; a shorter one counts as a failed attempt, so that a server that
// accepts and drops connections at once is not hammered.
//
// # Security
//
// A refused handshake with a 4xx status other than 408 and 429 ends Run:
// the client is not allowed, or the URL is wrong, and retrying would not
// change that. Options.Retry decides otherwise if set.
package reconnect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/internal/backoff"
	"github.com/pushwire/pushwire/internal/goaway"
	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// Options configures a Client. The zero value, and nil, give the defaults
// documented on each field. NewClient copies the struct.
type Options struct {
	// Dial configures every dial: headers, subprotocols, TLS, compression,
	// heartbeats. Default: nil, wsproto's defaults.
	Dial *wsproto.DialOptions

	// MinDelay is the wait before the first reconnection after a failure.
	// Default (0): 500 ms.
	MinDelay time.Duration

	// MaxDelay caps the wait between attempts, and is how long a
	// connection must stay open to reset the backoff. Default (0): 30 s.
	MaxDelay time.Duration

	// OnConnect, when set, is called with every new connection, the first
	// and each reconnection, before serve: the place to authenticate,
	// subscribe again or resend what the server must know. attempt counts
	// the connections made, from 1. An error closes the connection (code
	// 1000) and counts as a failed attempt. Default: nil.
	OnConnect func(conn *wsproto.Conn, resp *http.Response, attempt int) error

	// OnDisconnect, when set, is called after each failed dial and each
	// connection that ended, with why and the wait before the next attempt.
	// Default: nil.
	OnDisconnect func(err error, wait time.Duration)

	// Retry, when set, reports whether to dial again after err, a failed
	// dial or the error that ended a connection; false ends Run with err.
	// Default: nil, retry everything but a refused handshake with a 4xx
	// status other than 408 (Request Timeout) and 429 (Too Many Requests).
	Retry func(err error) bool
}

// A Client keeps a connection to one URL open, dialing again whenever it
// ends. Create it with NewClient and start it with Run.
type Client struct {
	url  string
	opts Options
	conn atomic.Pointer[wsproto.Conn]

	// Seams for tests.
	jitter func() float64
	now    func() time.Time
}

// NewClient returns a Client for a ws:// or wss:// URL (http:// and
// https:// are taken as ws:// and wss://). It does not connect; Run does.
// opts may be nil.
func NewClient(rawURL string, opts *Options) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("reconnect: %w", err)
	}
	switch u.Scheme {
	case "ws", "wss", "http", "https":
	default:
		return nil, fmt.Errorf("reconnect: %s: scheme must be ws or wss", rawURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("reconnect: %s: no host", rawURL)
	}
	c := &Client{url: rawURL, now: time.Now}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.MinDelay <= 0 {
		c.opts.MinDelay = 500 * time.Millisecond
	}
	if c.opts.MaxDelay <= 0 {
		c.opts.MaxDelay = 30 * time.Second
	}
	c.opts.MaxDelay = max(c.opts.MaxDelay, c.opts.MinDelay)
	if c.opts.Retry == nil {
		c.opts.Retry = retryable
	}
	return c, nil
}

// Run dials, calls serve with each connection and dials again when serve
// returns, after the backoff, until ctx is done; then it closes the current
// connection with code 1001 (going away) and returns ctx.Err(). serve should
// read the connection until a read fails and return that error; when it
// returns, the connection is closed if it is not already. Run also returns
// when Retry refuses an error, with that error.
//
// Run may be called again after it returned.
func (c *Client) Run(ctx context.Context, serve func(ctx context.Context, conn *wsproto.Conn) error) error {
	b := backoff.Backoff{Min: c.opts.MinDelay, Max: c.opts.MaxDelay, Jitter: c.jitter}
	attempt := 0
	for {
		err := c.connect(ctx, serve, &b, &attempt)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !c.opts.Retry(err) {
			return err
		}
		wait := b.Next()
		if c.opts.OnDisconnect != nil {
			c.opts.OnDisconnect(err, wait)
		}
		if err := backoff.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// connect makes one connection and serves it; it returns why it ended.
func (c *Client) connect(ctx context.Context, serve func(context.Context, *wsproto.Conn) error, b *backoff.Backoff, attempt *int) error {
	conn, resp, err := wsproto.Dial(ctx, c.url, c.opts.Dial)
	if err != nil {
		return err
	}
	defer conn.CloseNow()
	*attempt++
	if c.opts.OnConnect != nil {
		if err := c.opts.OnConnect(conn, resp, *attempt); err != nil {
			conn.Close(frame.CloseNormal, "")
			return fmt.Errorf("reconnect: OnConnect: %w", err)
		}
	}
	// A context that ends closes the connection properly (1001), which
	// ends serve's reads.
	defer goaway.OnDone(ctx, conn)()
	start := c.now()
	c.conn.Store(conn)
	err = serve(ctx, conn)
	c.conn.Store(nil)
	if c.now().Sub(start) >= c.opts.MaxDelay {
		b.Reset()
	}
	if err == nil {
		err = errServeReturned
	}
	return err
}

var errServeReturned = errors.New("reconnect: serve returned")

// Conn returns the open connection, or nil while there is none: for
// writes from other goroutines than serve's.
func (c *Client) Conn() *wsproto.Conn { return c.conn.Load() }

// retryable is the default Retry: everything but a refusal that will not
// change.
func retryable(err error) bool {
	var re *handshake.ResponseError
	if errors.As(err, &re) && re.StatusCode >= 400 && re.StatusCode < 500 &&
		re.StatusCode != http.StatusRequestTimeout && re.StatusCode != http.StatusTooManyRequests {
		return false
	}
	return true
}
