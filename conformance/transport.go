package conformance

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pushwire/pushwire/handshake"
)

// Transports. A case runs over a stream: the bytes after the opening
// handshake, as a net.Conn. How the stream is opened is the transport's
// business, so that the framing cases run unchanged over any of them; the
// opening-handshake cases are the transport's own (a case's transport
// field names the one it needs).
//
// Towards servers (RunServer): RFC 6455 over TCP or TLS for ws:// and
// wss:// URLs (tcpTransport), and RFC 8441 over HTTP/2 for https:// URLs
// (h2Transport, transport_h2.go): an extended CONNECT on a stream of an
// HTTP/2 connection, which internal/h2stream gives as a net.Conn. Towards
// clients (FuzzingServer): the HTTP/1.1 upgrade (upgradeH1) and, for
// requests over HTTP/2, the extended CONNECT answered with 200
// (upgradeH2).

// stream is an established WebSocket connection for one case.
type stream struct {
	conn net.Conn
	// br reads conn; it may hold bytes read with the handshake.
	br *bufio.Reader
	// agreed are the extensions the handshake agreed on.
	agreed []handshake.Extension
	// info describes the handshake for the report.
	info string
}

// transport opens the connections of the server role.
type transport interface {
	// name is the transport's name for cases that need a given one.
	name() string
	// open opens a WebSocket connection to the server under test for one
	// case, offering exts, within timeout.
	open(ctx context.Context, exts []handshake.Extension, timeout time.Duration) (*stream, error)
	// close releases what the transport holds (idle connections).
	close()
}

// transportHTTP1 names the RFC 6455 transport (HTTP/1.1 upgrade).
const transportHTTP1 = "http/1.1"

// tcpTransport is RFC 6455 over TCP (ws://) or TLS (wss://).
type tcpTransport struct {
	url    *url.URL
	tls    *tls.Config
	header http.Header
}

func newTransport(u *url.URL, opts *Options) (transport, error) {
	switch u.Scheme {
	case "ws", "wss":
		return &tcpTransport{url: u, tls: opts.TLSConfig, header: opts.Header}, nil
	case "https":
		return newH2Transport(u, opts), nil
	}
	return nil, fmt.Errorf("conformance: URL scheme %q, want ws or wss (RFC 6455), or https (RFC 8441, WebSocket over HTTP/2)", u.Scheme)
}

func (t *tcpTransport) name() string { return transportHTTP1 }

func (t *tcpTransport) close() {}

// raw dials the server's TCP (or TLS) connection.
func (t *tcpTransport) raw(ctx context.Context, timeout time.Duration) (net.Conn, error) {
	u := t.url
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "wss" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil || u.Scheme != "wss" {
		return conn, err
	}
	cfg := &tls.Config{}
	if t.tls != nil {
		cfg = t.tls.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	cfg.NextProtos = []string{"http/1.1"}
	tc := tls.Client(conn, cfg)
	tc.SetDeadline(time.Now().Add(timeout))
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	tc.SetDeadline(time.Time{})
	return tc, nil
}

// open dials and performs the RFC 6455 client handshake.
func (t *tcpTransport) open(ctx context.Context, exts []handshake.Extension, timeout time.Duration) (*stream, error) {
	conn, err := t.raw(ctx, timeout)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	conn.SetDeadline(time.Now().Add(timeout))
	br := bufio.NewReaderSize(conn, 64<<10)
	hs, err := handshake.ClientHandshake(conn, br, t.url, &handshake.ClientOptions{Header: t.header, Extensions: exts})
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", hs.Response.Proto, hs.Response.Status)
	if e := hs.Response.Header.Get("Sec-WebSocket-Extensions"); e != "" {
		fmt.Fprintf(&b, "; Sec-WebSocket-Extensions: %s", e)
	}
	return &stream{conn: conn, br: br, agreed: hs.Extensions, info: b.String()}, nil
}

// upgradeH1 completes the RFC 6455 opening handshake of a client's
// request as the server, answering the extensions exts, and returns the
// stream. It is the FuzzingServer's transport for HTTP/1.1 requests.
func upgradeH1(w http.ResponseWriter, r *http.Request, exts string) (*stream, error) {
	req, err := handshake.CheckRequest(r)
	if err != nil {
		handshake.Reject(w, err)
		return nil, err
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write(handshake.AppendResponse(nil, req.Key, "", exts, nil)); err != nil {
		conn.Close()
		return nil, err
	}
	info := "101 Switching Protocols"
	if e := r.Header.Get("Sec-WebSocket-Extensions"); e != "" {
		info += "; the client offered Sec-WebSocket-Extensions: " + e
	}
	return &stream{conn: conn, br: brw.Reader, info: info}, nil
}

// upgrade is the FuzzingServer's transport: by the request's protocol,
// the RFC 6455 upgrade over HTTP/1.1 or the RFC 8441 extended CONNECT
// over HTTP/2.
func upgrade(w http.ResponseWriter, r *http.Request, exts string) (*stream, error) {
	if r.ProtoMajor >= 2 {
		return upgradeH2(w, r, exts)
	}
	return upgradeH1(w, r, exts)
}
