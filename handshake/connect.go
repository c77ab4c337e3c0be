package handshake

import (
	"net/http"
	"net/url"
	"strings"
)

// ProtocolHeader is the key under which net/http's HTTP/2 server stores the
// :protocol pseudo-header of an extended CONNECT request (RFC 8441 §4) in
// Request.Header, and under which its HTTP/2 client takes it from a
// request's Header.
const ProtocolHeader = ":protocol"

// CheckConnect validates r as a client's opening handshake over HTTP/2, an
// extended CONNECT request (RFC 8441 §4, §5), and returns what the server
// needs to answer it. The returned Request has an empty Key: RFC 8441 §5
// does not use Sec-WebSocket-Key and Sec-WebSocket-Accept. When r is not a
// valid handshake the error is a *RejectError, as with CheckRequest. The
// checks, in order:
//
//   - the HTTP version is at least 2, else 400;
//   - the method is CONNECT, else 405 with "Allow: CONNECT";
//   - the :protocol pseudo-header is "websocket", else 400;
//   - an authority (:authority, which net/http puts in Host) is present and
//     is a syntactically valid authority, else 400;
//   - Sec-WebSocket-Version appears once with the value "13", else 426
//     with "Sec-WebSocket-Version: 13";
//   - Sec-WebSocket-Protocol and Sec-WebSocket-Extensions, if present, are
//     well formed (ParseProtocols, ParseExtensions), else 400.
//
// net/http hands such a request to a handler only when the process runs
// with GODEBUG=http2xconnect=1; without it the HTTP/2 server refuses
// :protocol itself. The Origin is not checked: the origin policy is
// CheckOrigin's.
func CheckConnect(r *http.Request) (*Request, error) {
	// RFC 8441 §4: the extended CONNECT method is an HTTP/2 mechanism (RFC
	// 9220 carries it to HTTP/3).
	if r.ProtoMajor < 2 {
		return nil, badRequest("extended CONNECT needs HTTP/2 or later, got " + quote(r.Proto))
	}
	// RFC 8441 §5: "The :method pseudo-header field MUST be set to CONNECT."
	// (Stated for the whole handshake in §5: "Instead of a GET method, the
	// client uses ... the CONNECT method".)
	if r.Method != http.MethodConnect {
		return nil, &RejectError{
			Status: http.StatusMethodNotAllowed,
			Reason: "method must be CONNECT for a WebSocket over HTTP/2 (RFC 8441 §4), got " + quote(r.Method),
			Header: http.Header{"Allow": {http.MethodConnect}},
		}
	}
	// RFC 8441 §5: "The :protocol pseudo-header field MUST be included in
	// the CONNECT request, and it MUST have a value of websocket". Upgrade
	// tokens compare case-insensitively (RFC 9110 §7.8), as in RFC 6455
	// §4.2.1 item 3.
	protos := r.Header.Values(ProtocolHeader)
	switch {
	case len(protos) == 0:
		return nil, badRequest("missing :protocol pseudo-header, want \"websocket\" (RFC 8441 §5)")
	case len(protos) > 1 || !strings.EqualFold(protos[0], "websocket"):
		return nil, badRequest(":protocol must be \"websocket\" (RFC 8441 §5), got " + joinValues(protos))
	}
	// RFC 8441 §4: "the :scheme and :path pseudo-header fields of the target
	// URI ... MUST also be included"; net/http's server checks those. The
	// authority plays the part of Host (RFC 9113 §8.3.1).
	if r.Host == "" {
		return nil, badRequest("missing :authority")
	}
	if !validAuthority(r.Host) {
		return nil, badRequest(":authority " + quote(r.Host) + " is not a valid authority")
	}
	// RFC 8441 §5: "The Sec-WebSocket-Key and Sec-WebSocket-Accept header
	// fields are not used"; the other WebSocket fields are checked as for
	// HTTP/1.1.
	return checkWebSocketFields(r.Header, false)
}

// NewConnectRequest returns the client's opening handshake over HTTP/2: the
// extended CONNECT request (RFC 8441 §4, §5) for u, a wss:// URL, offering
// what opts offers (nil: nothing). The request has no body: the stream's
// bytes are the caller's. Its URL has the scheme https, so that the HTTP/2
// client sends :scheme "https" and :path from the URL's path and query;
// its Header has the :protocol pseudo-header under ProtocolHeader (where
// net/http's HTTP/2 client takes it), Sec-WebSocket-Version and the offers;
// its Host is opts.Header's "Host" entry or "" (the URL's host).
//
// u and opts are checked as ClientHandshake checks them, and an invalid one
// is a *ResponseError with StatusCode 0; extra header fields follow the
// same rules, and those HTTP/2 forbids are left out (see
// ClientOptions.Header).
func NewConnectRequest(u *url.URL, opts *ClientOptions) (*http.Request, error) {
	fail := func(reason string) (*http.Request, error) {
		return nil, &ResponseError{Reason: reason}
	}
	if opts == nil {
		opts = &ClientOptions{}
	}
	if u == nil {
		return fail("nil URL")
	}
	// RFC 8441 §5 carries the WebSocket over a TLS connection negotiated
	// for HTTP/2 ("h2"), so the URI is a wss URI (RFC 6455 §3).
	if s := toLowerASCII(u.Scheme); s != "wss" && s != "https" {
		return fail("WebSocket over HTTP/2 needs a wss:// URL, got scheme " + quote(u.Scheme))
	}
	if reason := checkURLHost(u); reason != "" {
		return fail(reason)
	}
	if reason := checkOffers(opts); reason != "" {
		return fail(reason)
	}
	host, reason := checkExtraFields(opts.Header)
	if reason != "" {
		return fail(reason)
	}
	h := make(http.Header, len(opts.Header)+4)
	addExtra(h, opts.Header, h2Request)
	// RFC 8441 §5: "The :protocol pseudo-header field MUST be included in
	// the CONNECT request, and it MUST have a value of websocket to
	// initiate a WebSocket connection on an HTTP/2 stream."
	h[ProtocolHeader] = []string{"websocket"}
	// §5: "Other HTTP request and response header fields, such as those
	// for manipulating cookies, may be included in the HEADERS with the
	// CONNECT method as usual", and the WebSocket ones keep their meaning:
	// Sec-WebSocket-Version is sent as over HTTP/1.1 (RFC 6455 §4.1 item
	// 9); Sec-WebSocket-Key is not used.
	h[fieldVersion] = []string{Version}
	if len(opts.Protocols) > 0 {
		h[fieldProtocol] = []string{strings.Join(opts.Protocols, ", ")}
	}
	if len(opts.Extensions) > 0 {
		h[fieldExtensions] = []string{FormatExtensions(opts.Extensions)}
	}
	// RFC 8441 §4: "On requests that contain the :protocol pseudo-header
	// field, the :scheme and :path pseudo-header fields of the target URI
	// ... MUST also be included."
	target := &url.URL{Scheme: "https", User: u.User, Host: u.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	if target.Path == "" {
		target.Path = "/"
	}
	return &http.Request{
		// RFC 8441 §5: "The :method pseudo-header field MUST be set to
		// CONNECT."
		Method:     http.MethodConnect,
		URL:        target,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     h,
		Host:       host,
	}, nil
}

// CheckConnectResponse checks the server's answer to a NewConnectRequest
// made with opts, as RFC 8441 §5 asks of the client: a 2xx status accepts
// the WebSocket, and then Sec-WebSocket-Protocol and
// Sec-WebSocket-Extensions follow the rules of ClientHandshake. Any other
// status refuses it: the error then holds up to 1 KiB of the body, read
// from resp.Body. Every error is a *ResponseError; resp.Body is left to the
// caller to close.
func CheckConnectResponse(resp *http.Response, opts *ClientOptions) (*ClientResult, error) {
	if opts == nil {
		opts = &ClientOptions{}
	}
	// RFC 8441 §5: "the server ... sends a 2xx series status code"; the
	// Sec-WebSocket-Accept header field is not used.
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, refusal(resp, "server refused the WebSocket over HTTP/2 with status "+resp.Status)
	}
	protocol, exts, reason := checkAgreement(resp.Header, opts)
	if reason != "" {
		return nil, &ResponseError{StatusCode: resp.StatusCode, Header: resp.Header, Reason: reason}
	}
	return &ClientResult{Response: resp, Protocol: protocol, Extensions: exts}, nil
}

// WriteConnectResponse answers an extended CONNECT request that passed
// CheckConnect and the server's own checks: it adds Sec-WebSocket-Protocol
// (if protocol is a token) and Sec-WebSocket-Extensions (if extensions is
// a valid field value) and the fields of extra to w's header, and writes
// the status 200 (RFC 8441 §5: "a 2xx series status code"; no
// Sec-WebSocket-Accept). From extra, the fields reserved over HTTP/2 are
// skipped: the handshake's own, Content-Length, Transfer-Encoding and the
// connection-specific fields of RFC 9113 §8.2.2, as are invalid names and
// values. The header is not flushed.
func WriteConnectResponse(w http.ResponseWriter, protocol, extensions string, extra http.Header) {
	h := w.Header()
	addExtra(h, extra, h2Response)
	if protocol != "" && isToken(protocol) {
		h[fieldProtocol] = []string{protocol}
	}
	if extensions != "" && validFieldValue(extensions) {
		h[fieldExtensions] = []string{extensions}
	}
	w.WriteHeader(http.StatusOK)
}
