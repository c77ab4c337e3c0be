// Package handshake implements the HTTP part of the WebSocket opening
// handshake of RFC 6455: the Sec-WebSocket-Key / Sec-WebSocket-Accept
// exchange (§1.3, §4.2.2), validation of the client's request (§4.2.1) and
// of the server's response (§4.1), the Upgrade and Connection tokens,
// version 13, the Sec-WebSocket-Protocol and Sec-WebSocket-Extensions
// grammars (§4.1, §9.1, §11.3), and the origin policy (§10.2). It knows
// nothing about frames; package wsproto builds connections on top of it.
//
// A server checks a request and answers it:
//
//	req, err := handshake.CheckRequest(r)
//	if err == nil {
//		err = handshake.CheckOrigin(r, allowedOrigins)
//	}
//	if err != nil {
//		handshake.Reject(w, err) // 400, 403, 405 or 426 with a one-line reason
//		return
//	}
//	protocol := handshake.SelectProtocol(req.Protocols, supported)
//	// hijack the connection, then write
//	// handshake.AppendResponse(buf, req.Key, protocol, extensions, nil)
//
// A client writes its request and checks the answer with ClientHandshake
// over a connection it dialed.
//
// Over HTTP/2 the opening handshake is an extended CONNECT request (RFC
// 8441 §4, §5): the server checks it with CheckConnect and answers with
// WriteConnectResponse; the client builds it with NewConnectRequest and
// checks the answer with CheckConnectResponse. The stream itself is the
// caller's (wsproto runs it with internal/h2stream). One table says which
// header fields each of the four messages keeps to itself.
//
// # Concurrency
//
// Every function may be called from any number of goroutines at once; the
// package has no mutable state. ClientHandshake uses its connection and
// bufio.Reader exclusively while it runs. Values returned (Request,
// ClientResult, errors) are owned by the caller; strings in them may share
// memory with the http.Header they were parsed from.
//
// # Limits
//
// The server-side checks read only header fields that net/http has
// already parsed, so their cost is bounded by http.Server.MaxHeaderBytes
// (1 MiB by default); a Sec-WebSocket-Key longer than 64 bytes is refused
// without being decoded. Error messages and rejection reasons repeat at
// most 64 bytes of any input. ClientHandshake reads at most 64 KiB of
// response status lines and header fields (skipping at most 4 interim 1xx
// responses) and at most 1 KiB of the body of a refusal; it sets no
// deadline, so the caller bounds the time with deadlines on the
// connection.
//
// # Security
//
// A browser lets any page open a WebSocket to any server and attaches the
// user's cookies, so without an origin check a hostile page can act as the
// user over the connection (cross-site WebSocket hijacking). Browsers send
// an Origin header that scripts cannot forge, and CheckOrigin refuses,
// with 403, every Origin whose host is not the request's Host unless it
// matches one of the server's patterns. With nil patterns only same-origin
// pages and clients that send no Origin (non-browser clients, which can
// claim any origin anyway, RFC 6455 §10.1) are accepted: the safe default.
// The opaque origin "null" (sandboxed iframes, file: pages) is accepted
// only when listed literally, never by a wildcard. Patterns are
// path.Match patterns against the Origin's host[:port], or against
// "scheme://host[:port]" when they contain "://"; "*" turns the check off
// for every URL origin. A malformed pattern is an error, not a silent
// non-match. Behind a reverse proxy that rewrites Host, list the public
// origins as patterns.
//
// The same-origin rule trusts the Host header. It does not stop DNS
// rebinding, where a hostile name resolves to the server and the page's
// origin and Host agree; a server reachable under names it does not own
// should check r.Host against its own names as well.
//
// Everything a peer sends is checked against the grammar before use and
// nothing is guessed: a malformed header is a 400 on the server and a
// failed handshake on the client. Values this package writes into
// headers are checked too, so no caller input can inject a header line.
package handshake
