package h2stream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// ErrUnsupported is wrapped in the error of a Dial whose request net/http
// refused to send: the server did not advertise
// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3: "A sender MUST NOT send a
// CONNECT request with the :protocol pseudo-header unless it has received
// this setting"), or the connection ended before its SETTINGS arrived.
var ErrUnsupported = errors.New("h2stream: the server did not allow extended CONNECT (no SETTINGS_ENABLE_CONNECT_PROTOCOL, RFC 8441 §3)")

var errWriteAborted = errors.New("h2stream: stream reset: a write timed out")

// Dial sends req, an extended CONNECT request (RFC 8441 §4; for a
// WebSocket, handshake.NewConnectRequest makes it), on an HTTP/2 connection
// of t's pool and returns the response. req's URL has the scheme https and
// req.Body is nil: Dial gives the request a body of its own, which the
// Conn writes. ctx bounds sending the request and receiving the response
// header; the stream then lives until the Conn is closed.
//
// With a 2xx response Dial returns the stream: the Conn reads the response
// body and writes the request body. With any other status the Conn is nil,
// and the caller reads what it wants of resp.Body and closes it.
//
// Streams share t's HTTP/2 connections, with the requests t itself sends:
// many streams to one server ride one TCP connection. When t's pool has no
// connection to the host that can take the stream, Dial opens one with
// t's DialTLSContext, or DialContext and TLSClientConfig, offering only
// "h2" (ALPN), and hands it to t's pool as t does after ALPN chose h2
// (Transport.TLSNextProto); t's Proxy is not used. An error from a server
// that did not allow extended CONNECT wraps ErrUnsupported.
func Dial(ctx context.Context, t *http.Transport, req *http.Request) (*ClientConn, *http.Response, error) {
	if req.URL == nil || req.URL.Scheme != "https" || req.URL.Host == "" {
		return nil, nil, errors.New("h2stream: the request needs an https URL with a host")
	}
	if req.Body != nil {
		return nil, nil, errors.New("h2stream: the request must have no body")
	}
	u := use(t)
	ok := false
	defer func() {
		if !ok {
			u.release()
		}
	}()

	// The stream lives as long as its request's context: detach that from
	// ctx, which bounds the handshake only.
	tr := &streamTrace{wrote: make(chan struct{})}
	sctx, cancelStream := context.WithCancel(httptrace.WithClientTrace(context.WithoutCancel(ctx), tr.hooks()))
	stop := context.AfterFunc(ctx, cancelStream)
	pr, pw := io.Pipe()
	req = req.WithContext(sctx)
	req.Body = pr
	fail := func(resp *http.Response, err error) (*ClientConn, *http.Response, error) {
		stop()
		pw.Close()
		cancelStream()
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%w)", cerr, err)
		}
		return nil, resp, err
	}
	resp, err := u.roundTrip(ctx, req)
	if err != nil {
		// net/http's HTTP/2 client sends an extended CONNECT only once the
		// server's SETTINGS allowed it, and fails it unsent otherwise (RFC
		// 8441 §3). A request refused on a connection before its header
		// was written, with the context still live, is that refusal; the
		// header was checked beforehand, so no encoding error is left to
		// explain it.
		if tr.gotConn.Load() && !tr.wroteHeaders.Load() && sctx.Err() == nil {
			err = fmt.Errorf("%w: %w", ErrUnsupported, err)
		}
		return fail(nil, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		pw.Close()
		resp.Body = &refusedBody{ReadCloser: resp.Body, stop: stop, cancel: cancelStream}
		return nil, resp, nil
	}
	if !stop() {
		resp.Body.Close()
		return fail(nil, ctx.Err())
	}
	local, remote := tr.addrs()
	if local == nil {
		local, remote = addr(""), addr(req.URL.Host)
	}
	c := &ClientConn{Conn: newConn(resp.Body, local, remote), closeWrite: pw.Close}
	c.write = pw.Write
	c.reset = func() { pw.CloseWithError(errWriteAborted) }
	c.end = func() {
		pw.Close()
		// Closing the response body resets the stream (RST_STREAM), and
		// the peer then drops request DATA that net/http still holds,
		// such as the close frame written last (RFC 6455 §5.5.1: the
		// endpoint that sent one closes after it). Wait until the
		// request body has been sent, with END_STREAM, or until
		// bodyDrain has passed for a peer that stopped reading.
		tr.waitWrote(bodyDrain)
		resp.Body.Close()
		cancelStream()
		u.release()
	}
	ok = true
	return c, resp, nil
}

// refusedBody is the body of a refusal; closing it ends the stream.
type refusedBody struct {
	io.ReadCloser
	stop   func() bool
	cancel context.CancelFunc
}

func (b *refusedBody) Close() error {
	err := b.ReadCloser.Close()
	b.stop()
	b.cancel()
	return err
}

// streamTrace records what net/http's HTTP/2 client did with a request.
type streamTrace struct {
	wrote        chan struct{} // closed when the request and its body were written, or that failed
	wroteOnce    sync.Once
	gotConn      atomic.Bool
	wroteHeaders atomic.Bool
	mu           sync.Mutex
	local        net.Addr
	remote       net.Addr
}

func (tr *streamTrace) hooks() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			tr.mu.Lock()
			tr.local, tr.remote = info.Conn.LocalAddr(), info.Conn.RemoteAddr()
			tr.mu.Unlock()
			tr.gotConn.Store(true)
		},
		WroteHeaders: func() { tr.wroteHeaders.Store(true) },
		WroteRequest: func(httptrace.WroteRequestInfo) {
			tr.wroteOnce.Do(func() { close(tr.wrote) })
		},
	}
}

// bodyDrain bounds how long closing a ClientConn waits for net/http to
// send what was written into the request body.
const bodyDrain = time.Second

// waitWrote waits until the request body was sent or d has passed.
func (tr *streamTrace) waitWrote(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-tr.wrote:
	case <-t.C:
	}
}

func (tr *streamTrace) addrs() (local, remote net.Addr) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.local, tr.remote
}

// transports holds what Dial keeps per *http.Transport while it has a
// stream open or dialing through it, or a connection it opened in the
// Transport's pool: the Transport's HTTP/2 round tripper, which serves
// requests from the pool, and the dials in progress.
//
// A table keyed by the caller's Transport is unavoidable here. net/http
// hands out the round tripper of a Transport's HTTP/2 pool only through
// TLSNextProto["h2"], together with a new TLS connection; asking for it on
// every Dial would open a connection per stream. The only place net/http
// offers for state of one's own in a Transport is RegisterProtocol, which
// changes the caller's Transport. Transport.RoundTrip and ClientConn
// refuse the :protocol pseudo-header (not a token), so they cannot carry
// the request; and the callers name the Transport, not a value of ours
// (wsproto.DialOptions.HTTPClient). An entry lives only while something of
// ours uses its Transport, so the table never keeps a Transport alive that
// nobody uses, and needs no weak pointers.
var transports = struct {
	sync.Mutex
	m map[*http.Transport]*transportUse
}{m: make(map[*http.Transport]*transportUse)}

// transportUse is what Dial keeps about one Transport. Its fields are
// guarded by transports' mutex.
type transportUse struct {
	t       *http.Transport
	users   int                      // streams dialing or open, and our connections in the pool
	rt      http.RoundTripper        // the pool's round tripper, once a request went through it
	dialing map[string]chan struct{} // closed when the dial to the authority has ended
}

// use registers a user of t.
func use(t *http.Transport) *transportUse {
	transports.Lock()
	defer transports.Unlock()
	u := transports.m[t]
	if u == nil {
		u = &transportUse{t: t, dialing: make(map[string]chan struct{})}
		transports.m[t] = u
	}
	u.users++
	return u
}

// release ends a use; the last one removes the entry.
func (u *transportUse) release() {
	transports.Lock()
	defer transports.Unlock()
	u.users--
	if u.users == 0 && transports.m[u.t] == u {
		delete(transports.m, u.t)
	}
}

// roundTrip sends req through the Transport's HTTP/2 pool, opening a
// connection to the host first if the pool has none that can take it.
// Concurrent dials to one host wait for a single connection.
func (u *transportUse) roundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	authority := req.URL.Host
	for {
		transports.Lock()
		rt := u.rt
		transports.Unlock()
		if rt != nil {
			resp, err := rt.RoundTrip(req)
			// net/http marks "no pooled connection" errors with this
			// method, and checks for it the same way.
			if _, none := err.(interface{ IsHTTP2NoCachedConnError() }); !none {
				return resp, err
			}
		}
		transports.Lock()
		if ch, ok := u.dialing[authority]; ok {
			transports.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		ch := make(chan struct{})
		u.dialing[authority] = ch
		transports.Unlock()

		resp, err := u.openAndRoundTrip(ctx, req)
		transports.Lock()
		delete(u.dialing, authority)
		transports.Unlock()
		close(ch)
		return resp, err
	}
}

// openAndRoundTrip opens a connection to req's host, hands it to the
// Transport's HTTP/2 pool and sends req through the round tripper that the
// pool returns, which it keeps once a request went through it.
func (u *transportUse) openAndRoundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	// Transport sets TLSNextProto up on its first use, under a sync.Once;
	// Clone runs that Once, which makes reading the map afterwards
	// race-free.
	u.t.Clone()
	next := u.t.TLSNextProto["h2"]
	if next == nil {
		return nil, errors.New("h2stream: the http.Transport has HTTP/2 disabled (set ForceAttemptHTTP2 or Protocols)")
	}
	tc, err := u.dialTLS(ctx, req.URL.Host)
	if err != nil {
		return nil, err
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		tc.Close()
		return nil, fmt.Errorf("h2stream: server negotiated %q instead of HTTP/2 (ALPN h2)", p)
	}
	rt := next(req.URL.Host, tc)
	resp, err := rt.RoundTrip(req)
	if err == nil {
		transports.Lock()
		u.rt = rt
		transports.Unlock()
	}
	return resp, err
}

// dialTLS opens a TLS connection offering only HTTP/2 to host, with the
// Transport's dialers and TLS configuration. A connection it dials itself
// counts as a use of the Transport until the pool closes it.
func (u *transportUse) dialTLS(ctx context.Context, host string) (*tls.Conn, error) {
	t := u.t
	address := hostPort(host)
	if t.DialTLSContext != nil {
		nc, err := t.DialTLSContext(ctx, "tcp", address)
		if err != nil {
			return nil, err
		}
		tc, ok := nc.(*tls.Conn)
		if !ok {
			nc.Close()
			return nil, fmt.Errorf("h2stream: the transport's DialTLSContext returned a %T, want a *tls.Conn", nc)
		}
		if err := tc.HandshakeContext(ctx); err != nil {
			tc.Close()
			return nil, err
		}
		return tc, nil
	}
	dial := t.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	nc, err := dial(ctx, "tcp", address)
	if err != nil {
		return nil, err
	}
	cfg := t.TLSClientConfig.Clone()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg.ServerName = hostOnly(host)
	}
	cfg.NextProtos = []string{"h2"}
	transports.Lock()
	u.users++
	transports.Unlock()
	tc := tls.Client(&pooledConn{Conn: nc, u: u}, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		tc.Close()
		return nil, err
	}
	return tc, nil
}

// pooledConn is a connection Dial opened; closing it ends its use of the
// Transport.
type pooledConn struct {
	net.Conn
	u    *transportUse
	once sync.Once
}

func (c *pooledConn) Close() error {
	c.once.Do(c.u.release)
	return c.Conn.Close()
}

// hostPort adds the https port to host when it has none.
func hostPort(host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(hostOnly(host), "443")
}

// hostOnly strips the port from host.
func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		return host[1 : len(host)-1]
	}
	return host
}
