package handshake

import (
	"net/http"
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
