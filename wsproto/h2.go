package wsproto

// WebSocket over HTTP/2 (RFC 8441): Accept of an extended CONNECT request
// and Dial through an *http.Transport. The request and response rules are
// package handshake's (CheckConnect and WriteConnectResponse on the server,
// NewConnectRequest and CheckConnectResponse on the client); the stream is
// a net.Conn of internal/h2stream, over which the Conn runs unchanged.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/internal/h2stream"
)

// HTTP2ExtendedConnectEnabled reports whether net/http's HTTP/2 server in
// this process accepts extended CONNECT (RFC 8441), and so WebSockets over
// HTTP/2: whether it advertises SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441
// §3), which the answer is read from, once. Go 1.26 advertises it only
// when the process was started with GODEBUG containing "http2xconnect=1":
// net/http reads the variable once, when the program starts. Without it,
// browsers open their WebSockets over HTTP/1.1 as before, and an HTTP/2
// request carrying :protocol is reset by net/http before any handler sees
// it. Setting GODEBUG with os.Setenv, or with a //go:debug directive, after
// the start does not enable it; re-executing the program with the variable
// set does.
//
// The client side (Dial over HTTP/2) does not depend on it.
func HTTP2ExtendedConnectEnabled() bool { return h2stream.ServerEnabled() }

// ErrExtendedConnectUnsupported is returned, wrapped, when a WebSocket over
// HTTP/2 cannot be opened because one side does not take extended CONNECT
// (RFC 8441). By a dial over HTTP/2: the server did not advertise
// SETTINGS_ENABLE_CONNECT_PROTOCOL in its first SETTINGS frame (RFC 8441
// §3: "A sender MUST NOT send a CONNECT request with the :protocol
// pseudo-header unless it has received this setting"). By Accept, for an
// HTTP/2 request: this process's HTTP/2 server does not accept extended
// CONNECT (see HTTP2ExtendedConnectEnabled); the request is answered with
// 400 and a one-line reason saying so. The wrapping error's text tells which
// side it was.
var ErrExtendedConnectUnsupported = errors.New("wsproto: WebSocket over HTTP/2 unavailable: extended CONNECT (RFC 8441) not supported")

// errExtendedConnectDisabled is Accept's case of
// ErrExtendedConnectUnsupported.
var errExtendedConnectDisabled = fmt.Errorf("%w: disabled in this process, start it with GODEBUG=http2xconnect=1", ErrExtendedConnectUnsupported)

// errNoConnectSetting is Dial's case of ErrExtendedConnectUnsupported.
var errNoConnectSetting = fmt.Errorf("%w by the server (no SETTINGS_ENABLE_CONNECT_PROTOCOL, RFC 8441 §3)", ErrExtendedConnectUnsupported)

// acceptH2 completes an RFC 8441 opening handshake on the HTTP/2 request r,
// as Accept does for HTTP/1.1: the same checks, origin policy, Verify,
// compression and subprotocol selection, then a 200 response (RFC 8441 §5)
// whose header is flushed at once, and a Conn over the stream.
//
// The handler must not return before the returned Conn is closed: the
// handler's return ends the stream. waitH2 blocks until then.
func acceptH2(w http.ResponseWriter, r *http.Request, opts *AcceptOptions) (*Conn, error) {
	var o AcceptOptions
	if opts != nil {
		o = *opts
	}
	if !HTTP2ExtendedConnectEnabled() {
		re := &handshake.RejectError{Status: http.StatusBadRequest, Reason: "WebSocket over HTTP/2 is not enabled on this server; use HTTP/1.1"}
		handshake.Reject(w, re)
		return nil, fmt.Errorf("%w (%w)", re, errExtendedConnectDisabled)
	}
	a, err := agree(w, r, &o, handshake.CheckConnect)
	if err != nil {
		return nil, err
	}
	handshake.WriteConnectResponse(w, a.protocol, a.extensions, o.ResponseHeader)
	nc, err := h2stream.Accept(w, r)
	if err != nil {
		return nil, fmt.Errorf("wsproto: %w", err)
	}
	return o.joined(newConn(nc, o.connConfig(a))), nil
}

// waitH2 blocks until c is closed when c was accepted over HTTP/2, whose
// stream ends when the handler returns; for other connections it returns at
// once. Handler calls it after starting serve on its own goroutine.
func (c *Conn) waitH2() {
	if s, ok := c.nc.(*h2stream.Conn); ok {
		<-s.Done()
	}
}

// Done returns a channel that is closed once the connection is closed and
// nothing more will be read or written. Over HTTP/2 a handler that serves
// the connection from another goroutine waits on it before it returns,
// since the stream ends with the handler (Handler does this itself):
//
//	c, err := wsproto.Accept(w, r, opts)
//	...
//	go serve(c)
//	if r.ProtoMajor >= 2 {
//		<-c.Done()
//	}
func (c *Conn) Done() <-chan struct{} {
	if s, ok := c.nc.(*h2stream.Conn); ok {
		return s.Done()
	}
	return c.closed
}

// dialH2 opens a WebSocket over HTTP/2 (RFC 8441 §5) to u, a wss:// URL,
// with the HTTP/2 support of client's *http.Transport (nil client or
// transport: http.DefaultTransport). Streams share the transport's HTTP/2
// connections: many WebSockets to one server ride one TCP connection (see
// h2stream.Dial; the transport's Proxy is not used). A server that did not
// advertise extended CONNECT yields an error wrapping
// ErrExtendedConnectUnsupported.
func dialH2(ctx context.Context, u *url.URL, client *http.Client, opts *DialOptions) (*Conn, *http.Response, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	conn, resp, err := dialH2Stream(ctx, u, client, &o)
	if err != nil {
		return nil, resp, fmt.Errorf("wsproto: dial %s over HTTP/2: %w", u.Redacted(), err)
	}
	return conn, resp, nil
}

func dialH2Stream(ctx context.Context, u *url.URL, client *http.Client, o *DialOptions) (*Conn, *http.Response, error) {
	var rt http.RoundTripper = http.DefaultTransport
	if client != nil && client.Transport != nil {
		rt = client.Transport
	}
	t, ok := rt.(*http.Transport)
	if !ok {
		return nil, nil, fmt.Errorf("the client's transport is a %T, want an *http.Transport", rt)
	}
	copts := &handshake.ClientOptions{Header: o.Header, Protocols: o.Subprotocols}
	var offer handshake.Extension
	if o.Compression != nil {
		offer = deflateOffer(o.Compression)
		copts.Extensions = []handshake.Extension{offer}
	}
	req, err := handshake.NewConnectRequest(u, copts)
	if err != nil {
		return nil, nil, err
	}
	timeout := o.HandshakeTimeout
	if timeout <= 0 {
		timeout = defaultHandshakeTimeout
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nc, resp, err := h2stream.Dial(hctx, t, req)
	if err != nil {
		if errors.Is(err, h2stream.ErrUnsupported) {
			err = fmt.Errorf("%w: %w", errNoConnectSetting, err)
		}
		return nil, resp, err
	}
	res, err := handshake.CheckConnectResponse(resp, copts)
	if err == nil {
		var deflate *deflateParams
		if deflate, err = agreedDeflate(res.Extensions, o, offer); err == nil {
			return newConn(nc, o.connConfig(res, deflate)), resp, nil
		}
	}
	if nc != nil {
		nc.Close()
	} else {
		resp.Body.Close()
	}
	return nil, resp, err
}
