package wsproto

// WebSocket over HTTP/2: RFC 8441 extended CONNECT, server and client.
//
// The Conn runs unchanged over a net.Conn adapter (h2Conn) whose reading
// half is the peer's DATA frames (the request body on the server, the
// response body on the client) and whose writing half is ours (the
// ResponseWriter, flushed per Write, or the pipe that feeds the request
// body). Ending the net.Conn ends the stream: on the client by closing the
// request body (END_STREAM) and the response body; on the server by letting
// the handler return, which is the only way net/http ends a response, so
// the handler that accepted an HTTP/2 WebSocket must wait for it (waitH2).

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/pushwire/pushwire/handshake"
)

// HTTP2ExtendedConnectEnabled reports whether net/http's HTTP/2 server in
// this process accepts extended CONNECT (RFC 8441), and so WebSockets over
// HTTP/2. It does so only when the process was started with GODEBUG
// containing "http2xconnect=1": net/http reads the variable once, when the
// program starts, and then advertises SETTINGS_ENABLE_CONNECT_PROTOCOL
// (RFC 8441 §3). Without it, browsers open their WebSockets over HTTP/1.1
// as before, and an HTTP/2 request carrying :protocol is reset by net/http
// before any handler sees it. Setting GODEBUG with os.Setenv, or with a
// //go:debug directive, after the start does not enable it; re-executing
// the program with the variable set does.
//
// The client side (Dial over HTTP/2) does not depend on it.
func HTTP2ExtendedConnectEnabled() bool { return xconnectAtStart }

// xconnectAtStart is what net/http's bundled HTTP/2 code read from GODEBUG
// when the program started, read the same way (a substring match).
var xconnectAtStart = strings.Contains(os.Getenv("GODEBUG"), "http2xconnect=1")

// ErrExtendedConnectDisabled is returned, wrapped, by Accept for an HTTP/2
// request when this process does not accept extended CONNECT (see
// HTTP2ExtendedConnectEnabled). The request is answered with 400 and a
// one-line reason saying so.
var ErrExtendedConnectDisabled = errors.New("wsproto: WebSocket over HTTP/2 is disabled in this process: start it with GODEBUG=http2xconnect=1")

// ErrExtendedConnectUnsupported is returned, wrapped, by a dial over HTTP/2
// when the server did not advertise SETTINGS_ENABLE_CONNECT_PROTOCOL in its
// first SETTINGS frame (RFC 8441 §3: "A sender MUST NOT send a CONNECT
// request with the :protocol pseudo-header unless it has received this
// setting").
var ErrExtendedConnectUnsupported = errors.New("wsproto: server does not support WebSocket over HTTP/2 (no SETTINGS_ENABLE_CONNECT_PROTOCOL, RFC 8441 §3)")

// acceptH2 completes an RFC 8441 opening handshake on the HTTP/2 request r,
// as Accept does for HTTP/1.1: the same checks, origin policy, Verify and
// subprotocol selection, then a 200 response (RFC 8441 §5) whose header is
// flushed at once, and a Conn over the stream. Compression is not
// negotiated yet: an offer of permessage-deflate is declined (RFC 7692
// §5: the server may decline every offer).
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
		return nil, fmt.Errorf("%w (%w)", re, ErrExtendedConnectDisabled)
	}
	req, err := handshake.CheckConnect(r)
	if err != nil {
		handshake.Reject(w, err)
		return nil, err
	}
	protocol, extensions, deflate, err := agree(w, r, &o, req)
	if err != nil {
		return nil, err
	}
	rc := http.NewResponseController(w)
	// net/http's ReadTimeout and WriteTimeout become deadlines of the
	// stream that would reset it; a long-lived WebSocket must not inherit
	// them. The Conn's own deadlines are kept by the adapter.
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	for k, vs := range o.ResponseHeader {
		switch textproto.CanonicalMIMEHeaderKey(k) {
		case "Sec-Websocket-Protocol", "Sec-Websocket-Extensions", "Sec-Websocket-Accept",
			"Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "Keep-Alive":
			continue
		}
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	if protocol != "" {
		h.Set("Sec-WebSocket-Protocol", protocol)
	}
	if extensions != "" {
		h.Set("Sec-WebSocket-Extensions", extensions)
	}
	// RFC 8441 §5: "the server ... sends a 2xx series status code" and the
	// Sec-WebSocket-Accept header field is not used.
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil, fmt.Errorf("wsproto: sending the HTTP/2 response header: %w", err)
	}
	nc := newH2ServerConn(w, r, rc)
	return o.joined(newConn(nc, connConfig{
		subprotocol:  protocol,
		extensions:   extensions,
		deflate:      deflate,
		readLimit:    o.ReadLimit,
		closeTimeout: o.CloseTimeout,
		onPing:       o.OnPing,
		onPong:       o.OnPong,
		pingInterval: o.PingInterval,
		pongTimeout:  o.PongTimeout,
	})), nil
}

// waitH2 blocks until c is closed when c was accepted over HTTP/2, whose
// stream ends when the handler returns; for other connections it returns at
// once. Handler calls it after starting serve on its own goroutine.
func (c *Conn) waitH2() {
	if s, ok := c.nc.(*h2Conn); ok && s.handlerDone != nil {
		<-s.handlerDone
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
	if s, ok := c.nc.(*h2Conn); ok && s.handlerDone != nil {
		return s.handlerDone
	}
	return c.closed
}

// overH2 reports whether c runs over an HTTP/2 stream.
func (c *Conn) overH2() bool {
	switch c.nc.(type) {
	case *h2Conn, *h2ClientConn:
		return true
	}
	return false
}

// dialH2 opens a WebSocket over HTTP/2 (RFC 8441 §5) to u, a wss:// URL,
// with the HTTP/2 support of client's *http.Transport (nil client or
// transport: http.DefaultTransport). Streams share the transport's HTTP/2
// connections: many WebSockets to one server ride one TCP connection. The
// first dial to a host opens a connection itself (with the transport's
// DialTLSContext, or DialContext and TLSClientConfig) and hands it to the
// transport's HTTP/2 pool; the transport's Proxy is not used. Compression
// is not offered yet. A server that did not advertise extended CONNECT
// yields an error wrapping ErrExtendedConnectUnsupported.
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
	switch strings.ToLower(u.Scheme) {
	case "wss", "https":
	default:
		return nil, nil, errors.New("WebSocket over HTTP/2 needs a wss:// URL")
	}
	if u.Host == "" {
		return nil, nil, errors.New("no host")
	}
	var rt http.RoundTripper = http.DefaultTransport
	if client != nil && client.Transport != nil {
		rt = client.Transport
	}
	t, ok := rt.(*http.Transport)
	if !ok {
		return nil, nil, fmt.Errorf("the client's transport is a %T, want an *http.Transport", rt)
	}
	header := make(http.Header, len(o.Header)+3)
	host := ""
	for k, vs := range o.Header {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		switch ck {
		case "Host":
			if len(vs) > 0 {
				host = vs[0]
			}
			continue
		case "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Protocol", "Sec-Websocket-Extensions",
			"Sec-Websocket-Accept", "Upgrade", "Connection", "Keep-Alive", "Proxy-Connection",
			"Transfer-Encoding", "Content-Length", "Te":
			// Ours, or connection-specific fields that HTTP/2 forbids
			// (RFC 9113 §8.2.2).
			continue
		}
		if strings.HasPrefix(k, ":") {
			continue
		}
		header[ck] = append(header[ck], vs...)
	}
	// RFC 8441 §5: "The :protocol pseudo-header field MUST be included in
	// the CONNECT request, and it MUST have a value of websocket".
	header[handshake.ProtocolHeader] = []string{"websocket"}
	header["Sec-Websocket-Version"] = []string{handshake.Version}
	if len(o.Subprotocols) > 0 {
		v := strings.Join(o.Subprotocols, ", ")
		offered, err := handshake.ParseProtocols(http.Header{"Sec-Websocket-Protocol": {v}})
		if err != nil || len(offered) != len(o.Subprotocols) {
			return nil, nil, fmt.Errorf("subprotocols %q are not distinct tokens", o.Subprotocols)
		}
		header["Sec-Websocket-Protocol"] = []string{v}
	}
	var offer handshake.Extension
	if o.Compression != nil {
		offer = deflateOffer(o.Compression)
		header["Sec-Websocket-Extensions"] = []string{offer.String()}
	}

	timeout := o.HandshakeTimeout
	if timeout <= 0 {
		timeout = defaultHandshakeTimeout
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The stream lives as long as its request's context: detach it from
	// ctx, which bounds the handshake only.
	var addrs h2Addrs
	sctx, cancelStream := context.WithCancel(httptrace.WithClientTrace(context.WithoutCancel(ctx), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			addrs.local, addrs.remote = info.Conn.LocalAddr(), info.Conn.RemoteAddr()
		},
	}))
	stop := context.AfterFunc(hctx, cancelStream)

	pr, pw := io.Pipe()
	req := (&http.Request{
		Method:     http.MethodConnect,
		URL:        &url.URL{Scheme: h2Scheme, User: u.User, Host: u.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery},
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     header,
		Body:       pr,
		Host:       host,
	}).WithContext(sctx)
	if req.URL.Path == "" {
		req.URL.Path = "/"
	}
	registerH2(t)
	fail := func(resp *http.Response, err error) (*Conn, *http.Response, error) {
		stop()
		pw.Close()
		if resp != nil {
			resp.Body.Close()
		}
		cancelStream()
		if cerr := hctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%w)", cerr, err)
		}
		return nil, resp, err
	}
	resp, err := t.RoundTrip(req)
	if err != nil {
		if strings.Contains(err.Error(), "extended connect not supported by peer") {
			err = fmt.Errorf("%w: %w", ErrExtendedConnectUnsupported, err)
		}
		return fail(nil, err)
	}
	// RFC 8441 §5: a 2xx status accepts; anything else refuses.
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fail(resp, &handshake.ResponseError{
			StatusCode: resp.StatusCode,
			Header:     resp.Header,
			Body:       body,
			Reason:     "server refused the WebSocket over HTTP/2 with status " + resp.Status,
		})
	}
	protocol, extensions, deflate, err := checkH2Response(resp.Header, o.Subprotocols, o, offer)
	if err != nil {
		return fail(resp, &handshake.ResponseError{StatusCode: resp.StatusCode, Header: resp.Header, Reason: err.Error()})
	}
	if !stop() {
		return fail(resp, hctx.Err())
	}
	if addrs.local == nil {
		addrs = h2Addrs{local: h2Addr(""), remote: h2Addr(u.Host)}
	}
	nc := &h2ClientConn{h2Conn: newH2Conn(resp.Body, addrs)}
	nc.write = pw.Write
	nc.abort = func() { pw.CloseWithError(errH2WriteAborted) }
	nc.end = func() {
		pw.Close()
		resp.Body.Close()
		cancelStream()
	}
	nc.closeWrite = pw.Close
	return newConn(nc, connConfig{
		client:       true,
		subprotocol:  protocol,
		extensions:   extensions,
		deflate:      deflate,
		readLimit:    o.ReadLimit,
		closeTimeout: o.CloseTimeout,
		onPing:       o.OnPing,
		onPong:       o.OnPong,
		pingInterval: o.PingInterval,
		pongTimeout:  o.PongTimeout,
	}), resp, nil
}

// checkH2Response checks the WebSocket fields of a 2xx answer to an
// extended CONNECT and returns the selected subprotocol.
func checkH2Response(h http.Header, offered []string, o *DialOptions, offer handshake.Extension) (string, string, *deflateParams, error) {
	// RFC 6455 §4.1: "If the response includes a |Sec-WebSocket-Extensions|
	// header field and this header field indicates the use of an extension
	// that was not present in the client's handshake ..., the client MUST
	// _Fail the WebSocket Connection_."
	exts, err := handshake.ParseExtensions(h)
	if err != nil {
		return "", "", nil, fmt.Errorf("malformed Sec-WebSocket-Extensions: %w", err)
	}
	var deflate *deflateParams
	for _, e := range exts {
		if o.Compression == nil || !strings.EqualFold(e.Name, extDeflate) || deflate != nil {
			return "", "", nil, fmt.Errorf("server answered extension %q that was not offered", e.Name)
		}
		level, _ := checkLevel(o.Compression.Level) // checked by Dial
		p, err := checkDeflateResponse(e, offer, o.Compression, level)
		if err != nil {
			return "", "", nil, err
		}
		deflate = &p
	}
	extensions := handshake.FormatExtensions(exts)
	// §4.1: "If the response includes a |Sec-WebSocket-Protocol| header
	// field and this header field indicates the use of a subprotocol that
	// was not present in the client's handshake ..., the client MUST _Fail
	// the WebSocket Connection_."
	vals := h.Values("Sec-WebSocket-Protocol")
	switch {
	case len(vals) == 0:
		return "", extensions, deflate, nil
	case len(vals) > 1:
		return "", "", nil, errors.New("Sec-WebSocket-Protocol appears more than once in the response")
	}
	p := strings.TrimSpace(vals[0])
	if !contains(offered, p) {
		return "", "", nil, fmt.Errorf("server selected subprotocol %q that was not offered", p)
	}
	return p, extensions, deflate, nil
}

// h2Scheme is the URL scheme under which dialH2 registers its round
// tripper with an *http.Transport (Transport.RegisterProtocol). The
// Transport validates the header names of http and https requests before
// it hands them to HTTP/2, and ":protocol" is no token; requests of a
// registered scheme go to the round tripper unvalidated, which passes them
// to the Transport's own HTTP/2 implementation as https. HTTP/2 checks the
// fields again when it encodes them, with ":protocol" allowed.
const h2Scheme = "pushwire-wss-h2"

// h2Registered holds the transports that dialH2 registered h2Scheme with,
// weakly: an entry goes when its transport is collected.
var h2Registered = struct {
	sync.Mutex
	m map[weak.Pointer[http.Transport]]bool
}{m: make(map[weak.Pointer[http.Transport]]bool)}

// registerH2 registers an h2RoundTripper for h2Scheme with t, once.
func registerH2(t *http.Transport) {
	wp := weak.Make(t)
	h2Registered.Lock()
	defer h2Registered.Unlock()
	if h2Registered.m[wp] {
		return
	}
	t.RegisterProtocol(h2Scheme, &h2RoundTripper{t: t})
	h2Registered.m[wp] = true
	runtime.AddCleanup(t, func(wp weak.Pointer[http.Transport]) {
		h2Registered.Lock()
		delete(h2Registered.m, wp)
		h2Registered.Unlock()
	}, wp)
}

// h2RoundTripper sends h2Scheme requests over t's HTTP/2 connections.
type h2RoundTripper struct {
	t  *http.Transport
	mu sync.Mutex
	h2 http.RoundTripper // t's HTTP/2 round tripper, once a connection was handed to it
	// dialing holds, per host, a channel closed when the connection being
	// opened to it is in the pool (or failed).
	dialing map[string]chan struct{}
}

func (rt *h2RoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.URL.Scheme = "https"
	ctx := req.Context()
	for {
		rt.mu.Lock()
		h2 := rt.h2
		rt.mu.Unlock()
		if h2 != nil {
			resp, err := h2.RoundTrip(r)
			if _, none := err.(interface{ IsHTTP2NoCachedConnError() }); !none {
				return resp, err
			}
		}
		// No HTTP/2 connection to this host can take the stream: open
		// one, unless another dial is doing so; then try again.
		rt.mu.Lock()
		if ch, ok := rt.dialing[r.URL.Host]; ok {
			rt.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if rt.dialing == nil {
			rt.dialing = make(map[string]chan struct{})
		}
		ch := make(chan struct{})
		rt.dialing[r.URL.Host] = ch
		rt.mu.Unlock()
		h2, err := rt.open(ctx, r.URL.Host)
		rt.mu.Lock()
		delete(rt.dialing, r.URL.Host)
		if err == nil {
			rt.h2 = h2
		}
		rt.mu.Unlock()
		close(ch)
		if err != nil {
			return nil, err
		}
		return h2.RoundTrip(r)
	}
}

// open opens a TLS connection to host and hands it to the Transport's
// HTTP/2 pool, as the Transport does after ALPN chose h2. It returns the
// Transport's HTTP/2 round tripper, which uses only pooled connections.
func (rt *h2RoundTripper) open(ctx context.Context, host string) (http.RoundTripper, error) {
	next := rt.t.TLSNextProto["h2"]
	if next == nil {
		return nil, errors.New("the http.Transport has HTTP/2 disabled (set ForceAttemptHTTP2 or Protocols)")
	}
	tc, err := rt.dialTLS(ctx, host)
	if err != nil {
		return nil, err
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		tc.Close()
		return nil, fmt.Errorf("server negotiated %q instead of HTTP/2 (ALPN h2)", p)
	}
	return next(host, tc), nil
}

// dialTLS opens a TLS connection offering only HTTP/2 to host.
func (rt *h2RoundTripper) dialTLS(ctx context.Context, host string) (*tls.Conn, error) {
	addr := hostPort(host, "https")
	if rt.t.DialTLSContext != nil {
		nc, err := rt.t.DialTLSContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		tc, ok := nc.(*tls.Conn)
		if !ok {
			nc.Close()
			return nil, fmt.Errorf("the transport's DialTLSContext returned a %T, want a *tls.Conn", nc)
		}
		return tc, tc.HandshakeContext(ctx)
	}
	dial := rt.t.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	nc, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	cfg := rt.t.TLSClientConfig.Clone()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = hostOnly(host)
	}
	cfg.NextProtos = []string{"h2"}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return tc, nil
}

var (
	errH2WriteAborted = errors.New("wsproto: HTTP/2 stream reset: a write timed out")
	errH2Closed       = fmt.Errorf("wsproto: HTTP/2 stream closed: %w", net.ErrClosed)
	errH2Handler      = fmt.Errorf("wsproto: the HTTP handler returned, which ended the HTTP/2 stream: %w", net.ErrClosed)
)

// h2Addrs are the addresses of the connection a stream runs on.
type h2Addrs struct{ local, remote net.Addr }

// h2Addr is a net.Addr given as a string, as net/http gives
// Request.RemoteAddr.
type h2Addr string

func (a h2Addr) Network() string { return "tcp" }
func (a h2Addr) String() string  { return string(a) }

// h2SmallRead is the size of the adapter's own read buffer, used for the
// short reads of an idle Conn waiting for a frame header.
const h2SmallRead = 512

// h2Conn is a net.Conn over one HTTP/2 stream. Reads come from body through
// a goroutine (pump), so that a read deadline interrupts a waiting Read
// without breaking the stream: net/http's own stream deadlines reset the
// stream. A Write is flushed before it returns. A write deadline that
// passes while no write is in flight only fails later writes; one that
// passes during a write resets the stream, since the bytes already handed
// to HTTP/2 cannot be taken back.
type h2Conn struct {
	body  io.ReadCloser
	addrs h2Addrs

	write func(p []byte) (int, error) // writes and flushes our half
	abort func()                      // resets the stream under a blocked write
	end   func()                      // ends the stream and releases it

	// handlerDone, on the server, is closed by Close: the handler waiting
	// for it may return, which ends the stream.
	handlerDone chan struct{}

	// Read side. The pump owns rbuf between a send on want and the
	// matching receive on got; Read owns it otherwise.
	rmu     sync.Mutex // serializes Read
	want    chan struct{}
	got     chan struct{}
	pending bool // a pump read is outstanding
	rbuf    []byte
	rsmall  [h2SmallRead]byte
	rpool   *[]byte // the pooled buffer rbuf points into, or nil
	roff    int     // rbuf[roff:rn] is unread
	rn      int
	rerr    error // the pump's last error, sticky
	pn      int   // written by the pump
	perr    error // written by the pump

	wmu sync.Mutex // held during a write; Close waits for it

	mu         sync.Mutex // guards what follows
	closed     bool
	closedCh   chan struct{}
	writing    bool
	wAborted   bool
	wExpired   bool
	wTimer     *time.Timer
	wGen       uint64
	rExpired   bool
	rExpiredCh chan struct{}
	rTimer     *time.Timer
	rGen       uint64
	closeOnce  sync.Once
}

// h2ClientConn is a client's h2Conn, which can end its half of the stream
// (END_STREAM on the request body) and keep reading: lingerClose uses that.
type h2ClientConn struct {
	*h2Conn
	closeWrite func() error
}

// CloseWrite ends the request body, which sends END_STREAM.
func (c *h2ClientConn) CloseWrite() error { return c.closeWrite() }

func newH2Conn(body io.ReadCloser, addrs h2Addrs) *h2Conn {
	c := &h2Conn{
		body:       body,
		addrs:      addrs,
		want:       make(chan struct{}, 1),
		got:        make(chan struct{}, 1),
		closedCh:   make(chan struct{}),
		rExpiredCh: make(chan struct{}),
	}
	go c.pump()
	return c
}

// newH2ServerConn returns the adapter over an accepted stream.
func newH2ServerConn(w http.ResponseWriter, r *http.Request, rc *http.ResponseController) *h2Conn {
	addrs := h2Addrs{remote: h2Addr(r.RemoteAddr)}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		addrs.local = a
	} else {
		addrs.local = h2Addr("")
	}
	c := newH2Conn(r.Body, addrs)
	c.handlerDone = make(chan struct{})
	c.write = func(p []byte) (n int, err error) {
		// A handler that returned before the Conn was closed breaks the
		// rule documented on Accept; net/http then panics on a Write.
		// Misuse must not crash the program.
		defer func() {
			if recover() != nil {
				n, err = 0, errH2Handler
			}
		}()
		n, err = w.Write(p)
		if err == nil {
			err = rc.Flush()
		}
		return n, err
	}
	c.abort = func() {
		// A write deadline in the past resets the stream at once, which
		// wakes the blocked Write.
		rc.SetWriteDeadline(aLongTimeAgo)
	}
	// The stream's context ends when the client resets the stream, the
	// connection dies or the handler returns: the Conn's blocked calls
	// must then return.
	stop := context.AfterFunc(r.Context(), func() { c.Close() })
	c.end = func() {
		stop()
		close(c.handlerDone)
	}
	return c
}

// pump performs the body reads that Read asks for.
func (c *h2Conn) pump() {
	for {
		select {
		case <-c.want:
		case <-c.closedCh:
			return
		}
		c.pn, c.perr = c.body.Read(c.rbuf)
		c.got <- struct{}{}
	}
}

func (c *h2Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if c.roff < c.rn {
			n := copy(p, c.rbuf[c.roff:c.rn])
			c.roff += n
			if c.roff == c.rn {
				c.releaseReadBuffer()
			}
			return n, nil
		}
		if c.rerr != nil {
			return 0, c.rerr
		}
		if len(p) == 0 {
			return 0, nil
		}
		c.mu.Lock()
		closed, expired, expiredCh := c.closed, c.rExpired, c.rExpiredCh
		c.mu.Unlock()
		if closed {
			return 0, errH2Closed
		}
		if !c.pending {
			if expired {
				return 0, os.ErrDeadlineExceeded
			}
			if len(p) <= h2SmallRead {
				c.rbuf = c.rsmall[:len(p)]
			} else {
				c.rpool = readPool.Get().(*[]byte)
				c.rbuf = (*c.rpool)[:min(len(p), len(*c.rpool))]
			}
			c.pending = true
			c.want <- struct{}{}
		}
		select {
		case <-c.got:
			c.pending = false
			c.roff, c.rn = 0, c.pn
			if c.perr != nil {
				c.rerr = c.perr
			}
			if c.rn == 0 {
				c.releaseReadBuffer()
			}
		case <-expiredCh:
			return 0, os.ErrDeadlineExceeded
		case <-c.closedCh:
			return 0, errH2Closed
		}
	}
}

// releaseReadBuffer puts the pooled read buffer back once it is drained.
func (c *h2Conn) releaseReadBuffer() {
	if c.rpool != nil {
		readPool.Put(c.rpool)
		c.rpool = nil
	}
	c.rbuf, c.roff, c.rn = nil, 0, 0
}

func (c *h2Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return 0, errH2Closed
	case c.wAborted:
		c.mu.Unlock()
		return 0, errH2WriteAborted
	case c.wExpired:
		c.mu.Unlock()
		return 0, os.ErrDeadlineExceeded
	}
	c.writing = true
	c.mu.Unlock()
	n, err := c.write(p)
	c.mu.Lock()
	c.writing = false
	aborted, closed := c.wAborted, c.closed
	c.mu.Unlock()
	if err != nil {
		switch {
		case aborted:
			err = fmt.Errorf("%w (%w)", os.ErrDeadlineExceeded, errH2WriteAborted)
		case closed:
			err = errH2Closed
		}
	}
	return n, err
}

// Close ends the stream: blocked reads return, a write in flight is
// aborted, and then the stream is ended (see h2Conn.end).
func (c *h2Conn) Close() error {
	first := false
	c.closeOnce.Do(func() {
		first = true
		c.mu.Lock()
		c.closed = true
		close(c.closedCh)
		if c.rTimer != nil {
			c.rTimer.Stop()
		}
		if c.wTimer != nil {
			c.wTimer.Stop()
		}
		writing := c.writing
		c.mu.Unlock()
		c.body.Close()
		if writing {
			c.abort()
		}
		// Wait for the write in flight to return: on the server, the
		// handler must not return while another goroutine is inside the
		// ResponseWriter.
		c.wmu.Lock()
		c.wmu.Unlock()
		c.end()
	})
	if !first {
		return errH2Closed
	}
	return nil
}

func (c *h2Conn) LocalAddr() net.Addr  { return c.addrs.local }
func (c *h2Conn) RemoteAddr() net.Addr { return c.addrs.remote }

func (c *h2Conn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func (c *h2Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rGen++
	if c.rTimer != nil {
		c.rTimer.Stop()
	}
	if c.rExpired {
		c.rExpired = false
		c.rExpiredCh = make(chan struct{})
	}
	if t.IsZero() {
		return nil
	}
	d := time.Until(t)
	if d <= 0 {
		c.rExpired = true
		close(c.rExpiredCh)
		return nil
	}
	gen := c.rGen
	c.rTimer = time.AfterFunc(d, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.rGen == gen && !c.rExpired {
			c.rExpired = true
			close(c.rExpiredCh)
		}
	})
	return nil
}

func (c *h2Conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.wGen++
	if c.wTimer != nil {
		c.wTimer.Stop()
	}
	c.wExpired = false
	if t.IsZero() {
		c.mu.Unlock()
		return nil
	}
	d := time.Until(t)
	if d <= 0 {
		c.expireWriteLocked()
		return nil
	}
	gen := c.wGen
	c.wTimer = time.AfterFunc(d, func() {
		c.mu.Lock()
		if c.wGen != gen {
			c.mu.Unlock()
			return
		}
		c.expireWriteLocked()
	})
	c.mu.Unlock()
	return nil
}

// expireWriteLocked marks the write deadline passed and aborts a write in
// flight. It is called with c.mu held and releases it.
func (c *h2Conn) expireWriteLocked() {
	c.wExpired = true
	abort := c.writing && !c.closed && !c.wAborted
	if abort {
		c.wAborted = true
	}
	c.mu.Unlock()
	if abort {
		c.abort()
	}
}
