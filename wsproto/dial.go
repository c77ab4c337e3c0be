package wsproto

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pushwire/pushwire/handshake"
)

// DialOptions configures Dial. The zero value, and nil, are safe defaults.
// Dial copies the options; the caller may reuse them.
type DialOptions struct {
	// Header holds extra request headers, such as Origin, Authorization or
	// Cookie. A "Host" entry replaces the Host line. Default: none.
	Header http.Header

	// Subprotocols lists the subprotocols offered, most preferred first.
	// Default: none.
	Subprotocols []string

	// TLSConfig is used for wss:// URLs (cloned; ServerName defaults to the
	// URL's host). Default: nil, meaning the system roots.
	TLSConfig *tls.Config

	// NetDialContext dials the TCP connection. Default: a net.Dialer.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// Proxy returns the proxy for a request, as http.Transport.Proxy does;
	// a nil URL means no proxy. The connection is tunnelled with CONNECT
	// (RFC 9110 §9.3.6) through http:// and https:// proxies. Default (nil):
	// http.ProxyFromEnvironment (HTTPS_PROXY for wss, HTTP_PROXY for ws,
	// NO_PROXY).
	Proxy func(*http.Request) (*url.URL, error)

	// HandshakeTimeout bounds connecting and the opening handshake, within
	// ctx. Default (0): 30 s.
	HandshakeTimeout time.Duration

	// ReadLimit is the largest message accepted, in bytes; negative means no
	// limit. Default (0): 1 MiB. A longer message fails the connection with
	// close code 1009 (RFC 6455 §7.4.1) before any of it is buffered.
	ReadLimit int64

	// CloseTimeout bounds the closing handshake: how long Close waits for
	// the server's close frame, and then for the server to close the TCP
	// connection. Default (0): 5 s.
	CloseTimeout time.Duration

	// HTTPClient, when set and the URL is wss://, makes Dial open the
	// WebSocket as a stream of an HTTP/2 connection with extended CONNECT
	// (RFC 8441) through the client's *http.Transport, so that many
	// WebSockets to one server share one TCP connection. The server must
	// advertise SETTINGS_ENABLE_CONNECT_PROTOCOL, or Dial fails with an
	// error wrapping ErrExtendedConnectUnsupported. The transport's Proxy
	// is not used. Default: nil, an HTTP/1.1 upgrade on a connection of its
	// own.
	HTTPClient *http.Client

	// OnPing and OnPong, as in AcceptOptions.
	OnPing, OnPong func(payload []byte)

	// PingInterval and PongTimeout turn on heartbeats, as in
	// AcceptOptions. Default (0): none.
	PingInterval, PongTimeout time.Duration

	// Compression, when set, offers permessage-deflate (RFC 7692) with
	// these options; the server may accept or decline it. A server
	// response that breaks RFC 7692 §7.1 fails the handshake. Default:
	// nil, no compression.
	Compression *CompressionOptions
}

// Dial opens a WebSocket connection to a ws:// or wss:// URL (RFC 6455
// §4.1; http:// and https:// are taken as ws:// and wss://) and returns it
// with the server's handshake response. A server that refuses the handshake
// yields an error that errors.As matches with a *handshake.ResponseError
// holding its status code, headers and the first bytes of its body, and the
// same in the returned *http.Response, whose Body holds those first bytes
// (at most 1 KiB). ctx bounds the dial and the handshake only, not the
// connection's later life.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*Conn, *http.Response, error) {
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("wsproto: dial: %w", err)
	}
	u = &url.URL{Scheme: strings.ToLower(u.Scheme), User: u.User, Host: u.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	var httpScheme string
	switch u.Scheme {
	case "ws", "http":
		u.Scheme, httpScheme = "ws", "http"
	case "wss", "https":
		u.Scheme, httpScheme = "wss", "https"
	default:
		return nil, nil, fmt.Errorf("wsproto: dial %s: scheme must be ws or wss", rawURL)
	}
	if u.Host == "" {
		return nil, nil, fmt.Errorf("wsproto: dial %s: no host", rawURL)
	}
	if o.HTTPClient != nil && u.Scheme == "wss" {
		return dialH2(ctx, u, o.HTTPClient, &o)
	}
	// RFC 6455 §3: "Fragment identifiers are meaningless in the context of
	// WebSocket URIs and MUST NOT be used"; the fragment is dropped above.
	timeout := o.HandshakeTimeout
	if timeout <= 0 {
		timeout = defaultHandshakeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	addr := hostPort(u.Host, httpScheme)
	dial := o.NetDialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	proxy := o.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	proxyURL, err := proxy(&http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: httpScheme, Host: u.Host, Path: "/"}, Header: http.Header{}})
	if err != nil {
		return nil, nil, fmt.Errorf("wsproto: dial %s: proxy: %w", u.Redacted(), err)
	}
	var nc net.Conn
	if proxyURL != nil {
		nc, err = dialProxy(ctx, dial, proxyURL, addr, o.TLSConfig)
	} else {
		nc, err = dial(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("wsproto: dial %s: %w", u.Redacted(), err)
	}
	// From here on ctx ending closes the connection, which ends any I/O.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	conn, resp, err := clientHandshake(ctx, nc, u, httpScheme, &o)
	if !stop() || err != nil {
		nc.Close()
		if err == nil {
			err = ctx.Err()
		}
		if cerr := ctx.Err(); cerr != nil && err != cerr {
			// The deadline or cancellation closed the connection under
			// the handshake; say so first.
			err = fmt.Errorf("%w (%w)", cerr, err)
		}
		return nil, resp, fmt.Errorf("wsproto: dial %s: %w", u.Redacted(), err)
	}
	return conn, resp, nil
}

// clientHandshake runs TLS, when asked for, and the opening handshake over nc.
func clientHandshake(ctx context.Context, nc net.Conn, u *url.URL, httpScheme string, o *DialOptions) (*Conn, *http.Response, error) {
	if httpScheme == "https" {
		cfg := o.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = hostOnly(u.Host)
		}
		// The upgrade is an HTTP/1.1 mechanism (RFC 6455 §4.1).
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, err
		}
		nc = tc
	}
	br := bufio.NewReaderSize(nc, 4096)
	copts := handshake.ClientOptions{
		Header:    o.Header,
		Protocols: o.Subprotocols,
	}
	var offer handshake.Extension
	if o.Compression != nil {
		offer = deflateOffer(o.Compression)
		copts.Extensions = []handshake.Extension{offer}
	}
	res, err := handshake.ClientHandshake(nc, br, u, &copts)
	if err != nil {
		return nil, refusal(err), err
	}
	deflate, err := agreedDeflate(res.Extensions, o, offer)
	if err != nil {
		return nil, res.Response, err
	}
	var buffered []byte
	if n := br.Buffered(); n > 0 {
		buffered, _ = br.Peek(n)
	}
	nc.SetDeadline(time.Time{})
	cfg := o.connConfig(res, deflate)
	cfg.buffered = buffered
	return newConn(nc, cfg), res.Response, nil
}

// connConfig is the configuration of a client Conn after the handshake
// res, made with these options.
func (o *DialOptions) connConfig(res *handshake.ClientResult, deflate *deflateParams) connConfig {
	return connConfig{
		client:       true,
		subprotocol:  res.Protocol,
		extensions:   handshake.FormatExtensions(res.Extensions),
		deflate:      deflate,
		readLimit:    o.ReadLimit,
		closeTimeout: o.CloseTimeout,
		onPing:       o.OnPing,
		onPong:       o.OnPong,
		pingInterval: o.PingInterval,
		pongTimeout:  o.PongTimeout,
	}
}

// refusal returns the response of a server that refused the handshake, as
// much of it as was read (status, header and the first bytes of the body),
// or nil if none was read.
func refusal(err error) *http.Response {
	var re *handshake.ResponseError
	if !errors.As(err, &re) || re.StatusCode == 0 {
		return nil
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", re.StatusCode, http.StatusText(re.StatusCode)),
		StatusCode:    re.StatusCode,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        re.Header,
		Body:          io.NopCloser(bytes.NewReader(re.Body)),
		ContentLength: int64(len(re.Body)),
	}
}

// dialProxy opens a tunnel to addr through an HTTP proxy with CONNECT.
func dialProxy(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), proxyURL *url.URL, addr string, tlsConfig *tls.Config) (net.Conn, error) {
	scheme := strings.ToLower(proxyURL.Scheme)
	if scheme != "http" && scheme != "https" {
		return nil, fmt.Errorf("proxy scheme %q not supported (http or https)", proxyURL.Scheme)
	}
	nc, err := dial(ctx, "tcp", hostPort(proxyURL.Host, scheme))
	if err != nil {
		return nil, fmt.Errorf("proxy %s: %w", proxyURL.Host, err)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	if scheme == "https" {
		cfg := tlsConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		cfg.ServerName = hostOnly(proxyURL.Host)
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("proxy %s: %w", proxyURL.Host, err)
		}
		nc = tc
	}
	req := "CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	if u := proxyURL.User; u != nil {
		pw, _ := u.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)) + "\r\n"
	}
	req += "\r\n"
	if _, err := nc.Write([]byte(req)); err != nil {
		nc.Close()
		return nil, fmt.Errorf("proxy %s: %w", proxyURL.Host, err)
	}
	// Read the response a byte at a time so that nothing of the tunnelled
	// stream is consumed.
	br := bufio.NewReaderSize(oneByteReader{nc}, 1)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("proxy %s: %w", proxyURL.Host, err)
	}
	if resp.StatusCode != http.StatusOK {
		nc.Close()
		return nil, fmt.Errorf("proxy %s refused CONNECT %s: %s", proxyURL.Host, addr, resp.Status)
	}
	return nc, nil
}

type oneByteReader struct {
	r interface{ Read([]byte) (int, error) }
}

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

// hostPort adds the scheme's default port to host when it has none.
func hostPort(host, scheme string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	port := "80"
	if scheme == "https" || scheme == "wss" {
		port = "443"
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}

// hostOnly strips the port from host.
func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.Trim(host, "[]")
}
