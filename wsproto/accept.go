package wsproto

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/internal/oneline"
)

// AcceptOptions configures Accept. The zero value, and nil, are safe
// defaults: same-origin requests only, no subprotocol, the default read
// limit and close timeout. Accept copies the options; the caller may reuse
// them.
type AcceptOptions struct {
	// Subprotocols lists the subprotocols the server speaks, most preferred
	// first. The first one the client offered is selected (RFC 6455 §4.2.2
	// step 5.5.4: "the value chosen MUST be derived from the client's
	// handshake"). Default: none, and no Sec-WebSocket-Protocol is answered.
	Subprotocols []string

	// SelectSubprotocol, when set, replaces Subprotocols: it gets the request
	// and the client's offers, in the client's order, and returns the one to
	// use or "" for none. A value the client did not offer is an error that
	// rejects the handshake with 500. Default: nil.
	SelectSubprotocol func(r *http.Request, offered []string) string

	// OriginPatterns lists further origins allowed to open connections, as
	// path.Match patterns on the origin's host ("*.example.com") or, when
	// they contain "://", on scheme://host. Same-origin requests and
	// requests with no Origin header are always allowed. Default: none.
	OriginPatterns []string

	// InsecureSkipOriginCheck accepts requests from every origin. With it,
	// any web page a user visits can open a connection carrying the user's
	// cookies (cross-site WebSocket hijacking). Default: false.
	InsecureSkipOriginCheck bool

	// Verify, when set, is called with the request after the handshake and
	// origin checks and before upgrading. A non-nil error rejects the
	// handshake: with the status and headers of a *handshake.RejectError in
	// its chain, or else with 403 and the error's text. Default: nil.
	Verify func(r *http.Request) error

	// ResponseHeader holds extra headers for the 101 response, such as
	// Set-Cookie. Default: none.
	ResponseHeader http.Header

	// ReadLimit is the largest message accepted, in bytes; negative means no
	// limit. Default (0): 1 MiB. A longer message fails the connection with
	// close code 1009 (RFC 6455 §7.4.1) before any of it is buffered.
	ReadLimit int64

	// CloseTimeout bounds the closing handshake: how long Close waits for
	// the client's close frame. Default (0): 5 s.
	CloseTimeout time.Duration

	// OnPing is called with the payload of every ping received, before the
	// automatic pong; OnPong with the payload of every pong. The payload is
	// valid only during the call. They run on the reading goroutine.
	// Default: nil.
	OnPing, OnPong func(payload []byte)

	// PingInterval, when positive, turns on heartbeats: a ping is sent
	// after each PingInterval (RFC 6455 §5.5.2), and a connection whose
	// peer sends no pong within PongTimeout of a ping is closed, without a
	// close frame: reads and writes then return an error matching a
	// CloseError with code 1006 and os.ErrDeadlineExceeded. Pongs are
	// received by reads, so a goroutine must be reading, as for Ping. The
	// pings are sent from a runtime timer; no goroutine waits for them.
	// Default (0): no heartbeat; an idle dead peer then goes unnoticed
	// until a write fails.
	PingInterval time.Duration

	// PongTimeout is how long the pong may take. Default (0): PingInterval.
	PongTimeout time.Duration

	// Compression, when set, accepts permessage-deflate (RFC 7692) if the
	// client offers it: the first offer the server can honour is taken,
	// and an offer it cannot honour is declined (see CompressionOptions).
	// Default: nil, no compression.
	Compression *CompressionOptions

	// Group, when set, is the group the connection joins once it is
	// accepted; it leaves when it is closed. After Group.Close, Accept
	// refuses the requests with 503 Service Unavailable. Default: nil.
	Group *Group
}

// Accept completes a WebSocket opening handshake (RFC 6455 §4.2) on the
// request r and returns the connection. A request that is not a valid
// handshake, comes from a foreign origin, or is refused by Verify is
// answered with an HTTP error response whose body says in one line what was
// wrong, and Accept returns the error (a *handshake.RejectError); the handler
// then has nothing more to write.
//
// Over HTTP/2, Accept takes an extended CONNECT request (RFC 8441 §4) and
// answers 200; the same Conn then runs over the request's stream. net/http
// accepts such requests only when the process started with
// GODEBUG=http2xconnect=1 (HTTP2ExtendedConnectEnabled tells); without it,
// Accept answers 400 and returns an error wrapping
// ErrExtendedConnectUnsupported. The stream ends when the handler returns, so
// over HTTP/2 the handler must not return before the Conn is closed;
// Handler takes care of that.
//
// Over HTTP/1.1 the connection is taken over from net/http, which no
// longer times out or closes it. The handler may return at once and serve the connection from a
// fresh goroutine, which frees net/http's serving stack; note that r's
// context is canceled when the handler returns.
func Accept(w http.ResponseWriter, r *http.Request, opts *AcceptOptions) (*Conn, error) {
	if r.ProtoMajor >= 2 {
		return acceptH2(w, r, opts)
	}
	var o AcceptOptions
	if opts != nil {
		o = *opts
	}
	a, err := agree(w, r, &o, handshake.CheckRequest)
	if err != nil {
		return nil, err
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		err = &handshake.RejectError{Status: http.StatusInternalServerError, Reason: "connection cannot be taken over: " + err.Error()}
		handshake.Reject(w, err)
		return nil, err
	}
	// net/http's ReadTimeout and WriteTimeout deadlines stay on a hijacked
	// connection; a long-lived WebSocket must not inherit them.
	nc.SetDeadline(time.Time{})
	var buffered []byte
	if n := brw.Reader.Buffered(); n > 0 {
		// The client may have sent its first frames right behind the
		// handshake; net/http read them already.
		buffered, _ = brw.Reader.Peek(n)
	}
	resp := handshake.AppendResponse(make([]byte, 0, 256), a.key, a.protocol, a.extensions, o.ResponseHeader)
	if _, err := nc.Write(resp); err != nil {
		nc.Close()
		return nil, fmt.Errorf("wsproto: writing handshake response: %w", err)
	}
	cfg := o.connConfig(a)
	cfg.buffered = buffered
	return o.joined(newConn(nc, cfg)), nil
}

// connConfig is the configuration of a Conn that Accept agreed on with
// these options.
func (o *AcceptOptions) connConfig(a agreement) connConfig {
	return connConfig{
		subprotocol:  a.protocol,
		extensions:   a.extensions,
		deflate:      a.deflate,
		readLimit:    o.ReadLimit,
		closeTimeout: o.CloseTimeout,
		onPing:       o.OnPing,
		onPong:       o.OnPong,
		pingInterval: o.PingInterval,
		pongTimeout:  o.PongTimeout,
	}
}

// joined adds c to the options' group, if any, and returns it.
func (o *AcceptOptions) joined(c *Conn) *Conn {
	if o.Group != nil {
		o.Group.join(c)
	}
	return c
}

// agreement is what a server agreed on in an opening handshake.
type agreement struct {
	key        string // the client's Sec-WebSocket-Key; "" over HTTP/2
	protocol   string
	extensions string
	deflate    *deflateParams // permessage-deflate, or nil
}

// agree checks r with check (handshake.CheckRequest over HTTP/1.1,
// CheckConnect over HTTP/2) and makes the checks and choices that are the
// same for both: the origin policy, Verify, compression and the
// subprotocol. When it fails it has answered the request.
func agree(w http.ResponseWriter, r *http.Request, o *AcceptOptions, check func(*http.Request) (*handshake.Request, error)) (agreement, error) {
	reject := func(err error) (agreement, error) {
		handshake.Reject(w, err)
		return agreement{}, err
	}
	req, err := check(r)
	if err != nil {
		return reject(err)
	}
	if o.Group != nil && o.Group.refuses() {
		return reject(&handshake.RejectError{Status: http.StatusServiceUnavailable, Reason: "the server is closing its connections"})
	}
	if !o.InsecureSkipOriginCheck {
		if err := handshake.CheckOrigin(r, o.OriginPatterns); err != nil {
			return reject(err)
		}
	}
	if o.Verify != nil {
		if err := o.Verify(r); err != nil {
			var re *handshake.RejectError
			if !errors.As(err, &re) {
				err = &handshake.RejectError{Status: http.StatusForbidden, Reason: oneline.Of(err.Error())}
			}
			return reject(err)
		}
	}
	a := agreement{key: req.Key}
	if o.Compression != nil {
		if resp, p, ok := acceptDeflate(req.Extensions, o.Compression); ok {
			a.deflate = &p
			a.extensions = resp.String()
		}
	}
	a.protocol = handshake.SelectProtocol(req.Protocols, o.Subprotocols)
	if o.SelectSubprotocol != nil {
		a.protocol = o.SelectSubprotocol(r, req.Protocols)
		if a.protocol != "" && !contains(req.Protocols, a.protocol) {
			return reject(&handshake.RejectError{Status: http.StatusInternalServerError, Reason: fmt.Sprintf("server selected subprotocol %q that the client did not offer", a.protocol)})
		}
	}
	return a, nil
}

// Handler returns an http.Handler that accepts WebSocket connections with
// opts and runs serve for each on a fresh goroutine, so that the HTTP
// handler returns at once and its stack is freed, over HTTP/1.1 and
// HTTP/2 alike. serve owns the connection; when it returns, the connection
// is closed (without a closing handshake if serve did not do one).
//
// serve also gets the handshake request, for what the application needs
// from it: the query, the headers, the cookies, and the values that
// middleware before the Handler put in its context (the authenticated user,
// say). The request's context keeps those values but not the handler's
// deadline or cancellation: it is done once the connection is closed, so
// that work started for the connection can stop with it.
func Handler(opts *AcceptOptions, serve func(c *Conn, r *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, opts)
		if err != nil {
			return
		}
		go func(r *http.Request) {
			defer c.serveReturned()
			serve(c, r)
		}(r.WithContext(connContext{c: c, values: r.Context()}))
		// Over HTTP/2 the stream ends when the handler returns.
		c.waitH2()
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// connContext is the context of the request that Handler hands serve: the
// request's values, and done once the connection is closed. It costs the
// connection nothing until it is used: contexts derived from it register
// on the connection's close (AfterFunc) instead of a goroutine each.
type connContext struct {
	c      *Conn
	values context.Context
}

func (x connContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (x connContext) Done() <-chan struct{}       { return x.c.closed }
func (x connContext) Value(key any) any           { return x.values.Value(key) }

func (x connContext) Err() error {
	if x.c.isClosed() {
		return context.Canceled
	}
	return nil
}

// AfterFunc runs f on a goroutine of its own once the connection is closed.
// The context package uses it for the contexts derived from this one, and
// context.AfterFunc as well.
func (x connContext) AfterFunc(f func()) (stop func() bool) {
	h := &closeHook{f: func() { go f() }}
	x.c.addCloseHook(h)
	return func() bool { return x.c.removeCloseHook(h) }
}
