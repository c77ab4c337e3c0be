package handshake

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
)

// ClientOptions says what a client offers in its opening handshake. The
// zero value, and nil, offer no subprotocol and no extension.
// ClientHandshake and NewConnectRequest read it and never modify it.
type ClientOptions struct {
	// Header holds extra request headers such as Origin, Authorization or
	// Cookie. A "Host" entry replaces the Host line (over HTTP/2, the
	// :authority) derived from the URL. The handshake's own fields in it
	// (Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version,
	// Sec-WebSocket-Protocol, Sec-WebSocket-Extensions,
	// Sec-WebSocket-Accept), Content-Length and Transfer-Encoding are
	// ignored, and over HTTP/2 the connection-specific Keep-Alive,
	// Proxy-Connection and TE as well (RFC 9113 §8.2.2); use Protocols and
	// Extensions.
	Header http.Header
	// Protocols are the subprotocols offered, most preferred first. Each
	// must be a token and appear once (RFC 6455 §4.1 item 10).
	Protocols []string
	// Extensions are the extension offers, most preferred first. Names,
	// parameter names and non-empty values must be tokens.
	Extensions []Extension
}

// ClientResult is what the server accepted in a successful handshake.
type ClientResult struct {
	// Response is the server's 101 response. Its Body is http.NoBody and
	// its Request is the handshake request as sent (Header includes the
	// handshake's own fields, Sec-WebSocket-Key among them).
	Response *http.Response
	// Protocol is the subprotocol the server chose, "" if none.
	Protocol string
	// Extensions are the extensions the server accepted, in its order,
	// which is the order they apply to data (RFC 6455 §9.1). Each was
	// offered and appears once; the caller checks their parameters.
	Extensions []Extension
}

// ResponseError is a failed opening handshake seen from the client. Every
// error ClientHandshake returns is a *ResponseError; match it with
// errors.As. When the failure was an I/O error, Unwrap returns it, so
// errors.Is(err, os.ErrDeadlineExceeded) works.
type ResponseError struct {
	// StatusCode is the server's status: not 101 when the server refused,
	// 101 when its acceptance was invalid, and 0 when no response was
	// read (invalid URL or options, a write or read error, or a malformed
	// or oversized response).
	StatusCode int
	// Header is the server's response header, nil when none was read.
	Header http.Header
	// Body is the first bytes of the body of a response other than 101, at
	// most 1 KiB; nil otherwise.
	Body []byte
	// Reason says in one line what was wrong.
	Reason string

	err error // the underlying error, if any
}

// Error returns "handshake: <reason>", followed by ": <underlying error>"
// when there is one. The body is not included.
func (e *ResponseError) Error() string {
	if e.err != nil {
		return "handshake: " + e.Reason + ": " + e.err.Error()
	}
	return "handshake: " + e.Reason
}

// Unwrap returns the underlying error, such as an I/O error, or nil.
func (e *ResponseError) Unwrap() error { return e.err }

// Limits on what ClientHandshake reads.
const (
	// maxResponseHeader bounds the status lines and header fields of the
	// response, informational responses included.
	maxResponseHeader = 64 << 10
	// maxErrorBody bounds the body kept from a response other than 101.
	maxErrorBody = 1 << 10
	// maxInterim is how many 1xx responses other than 101 are skipped.
	maxInterim = 4
)

var errResponseTooLarge = errors.New("handshake: response header too large")

// ClientHandshake performs the client's side of the opening handshake
// (RFC 6455 §4.1) over an established connection: it writes the request
// for u to conn, reads the response with br and validates it.
//
// u's scheme is ws or wss; its path and query form the request target
// ("/" when the path is empty) and it must have no fragment (RFC 6455 §3:
// fragments "MUST NOT be used on these URIs"). The Host line is u's host,
// with the port only when it is not the scheme's default (§4.1 item 4),
// unless opts.Header has a Host. The key is a fresh NewKey. The request is
// written with a single Write.
//
// br must read from conn. The response is taken from br line by line, so
// bytes that follow the response (they may be the first frames) stay
// buffered in br. At most 64 KiB of status lines and header fields is
// read, and up to 4 interim 1xx responses other than 101 are skipped. A
// response other than 101 fails the handshake with up to 1 KiB of its
// body read into the error; a body delimited by the end of the connection
// is read until 1 KiB or EOF, so bound the wait with a deadline on conn.
// Deadlines and cancellation are the caller's: ClientHandshake blocks in
// conn's Write and br's Read.
//
// A 101 response is checked as §4.1 requires of the client: Upgrade is
// "websocket", Connection has "Upgrade", Sec-WebSocket-Accept appears once
// and matches the key, Sec-WebSocket-Protocol is absent or appears once
// with a subprotocol the client offered, and every Sec-WebSocket-Extensions
// entry is well formed, names an offered extension (names compared ASCII
// case-insensitively) and appears once. Every failure is a *ResponseError.
func ClientHandshake(conn io.Writer, br *bufio.Reader, u *url.URL, opts *ClientOptions) (*ClientResult, error) {
	if conn == nil || br == nil {
		return nil, &ResponseError{Reason: "nil connection or bufio.Reader"}
	}
	if opts == nil {
		opts = &ClientOptions{}
	}
	key := NewKey()
	wire, req, err := buildRequest(u, opts, key)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write(wire); err != nil {
		return nil, &ResponseError{Reason: "writing the opening handshake", err: err}
	}
	// §4.1: "Once the client's opening handshake has been sent, the client
	// MUST wait for a response from the server before sending any further
	// data."
	lr := &lineReader{br: br, n: maxResponseHeader}
	tr := bufio.NewReaderSize(lr, 512)
	var resp *http.Response
	for i := 0; ; i++ {
		resp, err = http.ReadResponse(tr, req)
		if err != nil {
			if errors.Is(err, errResponseTooLarge) {
				return nil, &ResponseError{Reason: "response header exceeds " + strconv.Itoa(maxResponseHeader>>10) + " KiB"}
			}
			return nil, &ResponseError{Reason: "reading the response", err: err}
		}
		if resp.StatusCode/100 != 1 || resp.StatusCode == http.StatusSwitchingProtocols || i == maxInterim {
			break
		}
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		// §4.1: "If the status code received from the server is not 101,
		// the client handles the response per HTTP [RFC2616] procedures."
		// Here that means failing with what the server said.
		lr.n = maxErrorBody + 4<<10 // room for chunk framing
		return nil, refusal(resp, "server answered "+strings.TrimSpace(strconv.Itoa(resp.StatusCode)+" "+http.StatusText(resp.StatusCode))+", want 101 Switching Protocols")
	}
	resp.Body = http.NoBody
	resp.Request = req
	protocol, exts, reason := checkResponse(resp, key, opts)
	if reason != "" {
		return nil, &ResponseError{StatusCode: resp.StatusCode, Header: resp.Header, Reason: reason}
	}
	return &ClientResult{Response: resp, Protocol: protocol, Extensions: exts}, nil
}

// refusal is the error of a response that refused the handshake, with up
// to maxErrorBody bytes of its body.
func refusal(resp *http.Response, reason string) *ResponseError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if len(body) == 0 {
		body = nil
	}
	return &ResponseError{StatusCode: resp.StatusCode, Header: resp.Header, Body: body, Reason: reason}
}

// checkResponse validates a 101 response and returns the chosen
// subprotocol and extensions, or a reason why the handshake fails.
func checkResponse(resp *http.Response, key string, opts *ClientOptions) (protocol string, exts []Extension, reason string) {
	h := resp.Header
	if !resp.ProtoAtLeast(1, 1) {
		return "", nil, "101 response in " + quote(resp.Proto) + ", want HTTP/1.1 or later"
	}
	// §4.1 step 2: "If the response lacks an |Upgrade| header field or the
	// |Upgrade| header field contains a value that is not an ASCII
	// case-insensitive match for the value "websocket", the client MUST
	// _Fail the WebSocket Connection_."
	if v := h.Values("Upgrade"); len(v) != 1 || !asciiEqualFold(trimOWS(v[0]), "websocket") {
		if len(v) == 0 {
			return "", nil, "response has no Upgrade header"
		}
		return "", nil, "response Upgrade header must be \"websocket\", got " + joinValues(v)
	}
	// §4.1 step 3: "If the response lacks a |Connection| header field or
	// the |Connection| header field doesn't contain a token that is an
	// ASCII case-insensitive match for the value "Upgrade", the client
	// MUST _Fail the WebSocket Connection_."
	if !HeaderHasToken(h, "Connection", "Upgrade") {
		if v := h.Values("Connection"); len(v) > 0 {
			return "", nil, "response Connection header must contain \"Upgrade\", got " + joinValues(v)
		}
		return "", nil, "response has no Connection header"
	}
	// §4.1 step 4: "If the response lacks a |Sec-WebSocket-Accept| header
	// field or the |Sec-WebSocket-Accept| contains a value other than the
	// base64-encoded SHA-1 of the concatenation of the |Sec-WebSocket-Key|
	// (as a string, not base64-decoded) with the string
	// "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" but ignoring any leading and
	// trailing whitespace, the client MUST _Fail the WebSocket
	// Connection_." §11.3.3: it "MUST NOT appear more than once in an
	// HTTP response."
	switch v := h.Values(fieldAccept); {
	case len(v) == 0:
		return "", nil, "response has no Sec-WebSocket-Accept header"
	case len(v) > 1:
		return "", nil, "response Sec-WebSocket-Accept header appears " + strconv.Itoa(len(v)) + " times, must appear once"
	case trimOWS(v[0]) != AcceptKey(key):
		return "", nil, "response Sec-WebSocket-Accept " + quote(v[0]) + " does not match the key, want " + quote(AcceptKey(key))
	}
	return checkAgreement(h, opts)
}

// checkAgreement checks the subprotocol and the extensions a server
// accepted, in its response to an HTTP/1.1 upgrade or an HTTP/2 extended
// CONNECT (RFC 8441 §5 keeps the rules of RFC 6455 for these fields).
func checkAgreement(h http.Header, opts *ClientOptions) (protocol string, exts []Extension, reason string) {
	// §4.1 step 6: "If the response includes a |Sec-WebSocket-Protocol|
	// header field and this header field indicates the use of a
	// subprotocol that was not present in the client's handshake (the
	// server has indicated a subprotocol not requested by the client), the
	// client MUST _Fail the WebSocket Connection_." §11.3.4: it "MUST NOT
	// appear more than once in an HTTP response."
	switch v := h.Values(fieldProtocol); len(v) {
	case 0:
	case 1:
		protocol = trimOWS(v[0])
		offered := false
		for _, p := range opts.Protocols {
			offered = offered || p == protocol
		}
		if !offered {
			return "", nil, "server chose subprotocol " + quote(protocol) + ", which the client did not offer"
		}
	default:
		return "", nil, "response Sec-WebSocket-Protocol header appears " + strconv.Itoa(len(v)) + " times, must appear at most once"
	}
	// §9.1: "If a value is received by either the client or the server
	// during negotiation that does not conform to the ABNF below, the
	// recipient of such malformed data MUST immediately _Fail the
	// WebSocket Connection_." §4.1 step 5: "If the response includes a
	// |Sec-WebSocket-Extensions| header field and this header field
	// indicates the use of an extension that was not present in the
	// client's handshake (the server has indicated an extension not
	// requested by the client), the client MUST _Fail the WebSocket
	// Connection_." Several lines are allowed (erratum 3433 to §11.3.2).
	// The server's list is "the extensions actually in use for the
	// connection" (§9.1), so one named twice is refused too.
	exts, err := ParseExtensions(h)
	if err != nil {
		return "", nil, "response " + malformedReason(err)
	}
	for i, e := range exts {
		offered := false
		for _, o := range opts.Extensions {
			offered = offered || asciiEqualFold(o.Name, e.Name)
		}
		if !offered {
			return "", nil, "server accepted extension " + quote(e.Name) + ", which the client did not offer"
		}
		// exts[:i] are distinct offered names, so this loop is short.
		for _, prev := range exts[:i] {
			if asciiEqualFold(prev.Name, e.Name) {
				return "", nil, "server accepted extension " + quote(e.Name) + " twice"
			}
		}
	}
	return protocol, exts, ""
}

// buildRequest validates u and opts and returns the request's wire bytes
// and the request as ReadResponse and ClientResult want it.
func buildRequest(u *url.URL, opts *ClientOptions, key string) ([]byte, *http.Request, error) {
	fail := func(reason string) ([]byte, *http.Request, error) {
		return nil, nil, &ResponseError{Reason: reason}
	}
	if u == nil {
		return fail("nil URL")
	}
	// §4.1: "The components of the WebSocket URI passed into this
	// algorithm (/host/, /port/, /resource name/, and /secure/ flag) MUST
	// be valid according to the specification of WebSocket URIs specified
	// in Section 3."
	defaultPort := ""
	switch toLowerASCII(u.Scheme) {
	case "ws":
		defaultPort = "80"
	case "wss":
		defaultPort = "443"
	default:
		return fail("URL scheme must be ws or wss, got " + quote(u.Scheme))
	}
	if reason := checkURLHost(u); reason != "" {
		return fail(reason)
	}
	// §4.1 item 4: the Host "value contains /host/ plus optionally ":"
	// followed by /port/ (when not using the default port)."
	hostLine := u.Host
	if host, port, _ := splitHostPort(u.Host); port == defaultPort {
		hostLine = host
	}
	// §3: the resource name is "/" if the path component is empty, the
	// path, and "?" and the query if the query is non-empty.
	target := u.EscapedPath()
	if target == "" {
		target = "/"
	}
	if u.RawQuery != "" {
		target += "?" + u.RawQuery
	}
	if target[0] != '/' {
		return fail("URL path " + quote(target) + " does not start with \"/\"")
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c >= 0x7f {
			return fail("request target " + quote(target) + " has a byte that must be percent-encoded")
		}
	}
	if reason := checkOffers(opts); reason != "" {
		return fail(reason)
	}
	host, reason := checkExtraFields(opts.Header)
	if reason != "" {
		return fail(reason)
	}
	if host != "" {
		hostLine = host
	}

	sent := make(http.Header, len(opts.Header)+6)
	for k, vs := range opts.Header {
		if ck := textproto.CanonicalMIMEHeaderKey(k); !reserved(ck, h1Request) {
			sent[ck] = append(sent[ck], vs...)
		}
	}
	sent["Upgrade"] = []string{"websocket"}
	sent["Connection"] = []string{"Upgrade"}
	sent[fieldKey] = []string{key}
	sent[fieldVersion] = []string{Version}

	// §4.1 items 2 to 11.
	b := make([]byte, 0, 256)
	b = append(b, "GET "...)
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\n"...)
	b = appendField(b, "Host", hostLine)
	b = append(b, "Upgrade: websocket\r\nConnection: Upgrade\r\n"...)
	b = appendField(b, "Sec-WebSocket-Key", key)
	b = appendField(b, "Sec-WebSocket-Version", Version)
	if len(opts.Protocols) > 0 {
		v := strings.Join(opts.Protocols, ", ")
		b = appendField(b, "Sec-WebSocket-Protocol", v)
		sent[fieldProtocol] = []string{v}
	}
	if len(opts.Extensions) > 0 {
		v := FormatExtensions(opts.Extensions)
		b = appendField(b, "Sec-WebSocket-Extensions", v)
		sent[fieldExtensions] = []string{v}
	}
	b = appendExtra(b, opts.Header, h1Request)
	b = append(b, "\r\n"...)

	req := &http.Request{
		Method:     http.MethodGet,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     sent,
		Host:       hostLine,
	}
	return b, req, nil
}

// checkURLHost checks the parts of a WebSocket URI other than its scheme
// and path (RFC 6455 §3): a host that is a valid authority, no fragment.
// It returns the reason u is refused, or "".
func checkURLHost(u *url.URL) string {
	if u.Opaque != "" || u.Host == "" {
		return "URL " + quote(u.String()) + " has no host"
	}
	// §3: "Fragment identifiers are meaningless in the context of
	// WebSocket URIs and MUST NOT be used on these URIs."
	if u.Fragment != "" || u.RawFragment != "" {
		return "URL must not have a fragment (RFC 6455 §3)"
	}
	if !validAuthority(u.Host) {
		return "URL host " + quote(u.Host) + " is not a valid authority"
	}
	return ""
}

// checkOffers checks the subprotocols and extensions a client offers and
// returns the reason they are refused, or "".
func checkOffers(opts *ClientOptions) string {
	// RFC 6455 §4.1 item 10: the protocols "MUST be non-empty strings with
	// characters in the range U+0021 to U+007E not including separator
	// characters as defined in [RFC2616] and MUST all be unique strings."
	for i, p := range opts.Protocols {
		if !isToken(p) {
			return "subprotocol " + quote(p) + " is not a token"
		}
		for _, q := range opts.Protocols[:i] {
			if q == p {
				return "subprotocol " + quote(p) + " offered twice"
			}
		}
	}
	// §9.1: the extension grammar.
	for _, e := range opts.Extensions {
		if !validExtension(e) {
			return "extension offer " + quote(e.String()) + " is not valid: names and values must be tokens"
		}
	}
	return ""
}

// lineReader hands http.ReadResponse the bytes of br at most one line per
// Read and at most n bytes in all. Because a line is never split past its
// '\n', the reader ReadResponse wraps around it never holds a byte beyond
// the blank line that ends the response header: what follows stays in br.
type lineReader struct {
	br *bufio.Reader
	n  int // bytes left before errResponseTooLarge
}

func (l *lineReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errResponseTooLarge
	}
	if len(p) > l.n {
		p = p[:l.n]
	}
	if _, err := l.br.Peek(1); err != nil {
		return 0, err
	}
	b, _ := l.br.Peek(l.br.Buffered())
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	}
	n := copy(p, b)
	l.br.Discard(n)
	l.n -= n
	return n, nil
}
