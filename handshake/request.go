package handshake

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"

	"github.com/pushwire/pushwire/internal/oneline"
)

// Request is a client's opening handshake that passed CheckRequest: the
// values the server needs to answer it.
type Request struct {
	// Key is the Sec-WebSocket-Key value as sent (without surrounding
	// whitespace); AppendResponse hashes it into Sec-WebSocket-Accept.
	Key string
	// Protocols are the Sec-WebSocket-Protocol values offered, in the
	// client's order of preference, from all header lines and comma
	// lists; nil when none is offered. Pass them to SelectProtocol.
	Protocols []string
	// Extensions are the Sec-WebSocket-Extensions offers in order, from
	// all header lines; nil when none is offered. Their parameters are
	// the extension's business and are not checked here.
	Extensions []Extension
	// Origin is the Origin header, "" if absent. CheckOrigin applies the
	// origin policy to it.
	Origin string
}

// CheckRequest validates r as a client's opening handshake over HTTP/1.1
// (RFC 6455 §4.2.1) and returns what the server needs to answer it. When r
// is not a valid handshake the error is a *RejectError whose Status is the
// answer RFC 6455 calls for and whose Reason says in one line what was
// wrong; pass it to Reject. The checks, in order:
//
//   - the method is GET, else 405 with "Allow: GET";
//   - the HTTP version is at least 1.1, else 400;
//   - a Host is present and is a syntactically valid authority, else 400;
//   - Upgrade has the token "websocket", else 400;
//   - Connection has the token "Upgrade", else 400;
//   - Sec-WebSocket-Version appears once with the value "13", else 426
//     with "Sec-WebSocket-Version: 13";
//   - Sec-WebSocket-Key appears once and its value is the base64 (standard
//     alphabet, padded) of exactly 16 bytes, else 400;
//   - Sec-WebSocket-Protocol and Sec-WebSocket-Extensions, if present, are
//     well formed (ParseProtocols, ParseExtensions), else 400.
//
// The version is checked before the key so that a client speaking an older
// draft, whose handshake has no such key, still learns which version the
// server speaks (RFC 6455 §4.4). Token comparisons are ASCII
// case-insensitive. The body, the request target and the Origin are not
// checked: the origin policy is CheckOrigin's.
func CheckRequest(r *http.Request) (*Request, error) {
	// RFC 6455 §4.1 item 2: "The method of the request MUST be GET, and the
	// HTTP version MUST be at least 1.1." §4.2.1 item 1 expects "An
	// HTTP/1.1 or higher GET request".
	if r.Method != http.MethodGet {
		return nil, &RejectError{
			Status: http.StatusMethodNotAllowed,
			Reason: "method must be GET, got " + quote(r.Method),
			Header: http.Header{"Allow": {http.MethodGet}},
		}
	}
	if !r.ProtoAtLeast(1, 1) {
		return nil, badRequest("HTTP version must be at least 1.1, got " + quote(r.Proto))
	}
	// §4.2.1 item 2: "A |Host| header field containing the server's
	// authority." RFC 7230 §5.4: "A server MUST respond with a 400 (Bad
	// Request) status code to any HTTP/1.1 request message that lacks a
	// Host header field and to any request message that contains more than
	// one Host header field or a Host header field with an invalid
	// field-value." (net/http refuses a second Host line itself.)
	if r.Host == "" {
		return nil, badRequest("missing Host header")
	}
	if !validAuthority(r.Host) {
		return nil, badRequest("Host header " + quote(r.Host) + " is not a valid authority")
	}
	// §4.2.1 item 3: "An |Upgrade| header field containing the value
	// "websocket", treated as an ASCII case-insensitive value."
	if err := checkHasToken(r.Header, "Upgrade", "websocket"); err != nil {
		return nil, err
	}
	// §4.2.1 item 4: "A |Connection| header field that includes the token
	// "Upgrade", treated as an ASCII case-insensitive value."
	if err := checkHasToken(r.Header, "Connection", "Upgrade"); err != nil {
		return nil, err
	}
	return checkWebSocketFields(r.Header, true)
}

// checkWebSocketFields checks the WebSocket header fields of an opening
// handshake request, the part that does not depend on how HTTP carries it:
// Sec-WebSocket-Version, Sec-WebSocket-Key when needKey, and the
// Sec-WebSocket-Protocol and Sec-WebSocket-Extensions offers. CheckRequest
// calls it for HTTP/1.1; a check of an RFC 8441 extended CONNECT request,
// which has no key (RFC 8441 §5), can share it with needKey false.
func checkWebSocketFields(h http.Header, needKey bool) (*Request, error) {
	if err := checkVersion(h); err != nil {
		return nil, err
	}
	req := &Request{Origin: h.Get("Origin")}
	if needKey {
		key, err := checkKey(h)
		if err != nil {
			return nil, err
		}
		req.Key = key
	}
	// §4.2.1 items 8 and 9 offer the subprotocols and extensions; §4.2.1:
	// on "any violations of the ABNF grammar specified for the components
	// of the handshake, the server MUST stop processing the client's
	// handshake and return an HTTP response with an appropriate error code
	// (such as 400 Bad Request)".
	var err error
	if req.Protocols, err = ParseProtocols(h); err != nil {
		return nil, badRequest(malformedReason(err))
	}
	if req.Extensions, err = ParseExtensions(h); err != nil {
		return nil, badRequest(malformedReason(err))
	}
	return req, nil
}

// checkHasToken returns a 400 RejectError unless header name of h has
// token in its comma list.
func checkHasToken(h http.Header, name, token string) error {
	if HeaderHasToken(h, name, token) {
		return nil
	}
	vals := h.Values(name)
	if len(vals) == 0 {
		return badRequest("missing " + name + " header, want one containing " + strconv.Quote(token))
	}
	return badRequest(name + " header must contain " + strconv.Quote(token) + ", got " + joinValues(vals))
}

// checkVersion returns a 426 RejectError unless h has exactly one
// Sec-WebSocket-Version line whose value is "13".
func checkVersion(h http.Header) error {
	// §4.2.1 item 6: "A |Sec-WebSocket-Version| header field, with a value
	// of 13." §4.2.2 step 4: "If this version does not match a version
	// understood by the server, the server MUST abort the WebSocket
	// handshake described in this section and instead send an appropriate
	// HTTP error code (such as 426 Upgrade Required) and a
	// |Sec-WebSocket-Version| header field indicating the version(s) the
	// server is capable of understanding." §11.3.5: the field "MUST NOT
	// appear more than once in an HTTP request".
	vals := h.Values(fieldVersion)
	var reason string
	switch {
	case len(vals) == 0:
		reason = "missing Sec-WebSocket-Version header, want 13"
	case len(vals) > 1:
		reason = "Sec-WebSocket-Version header appears " + strconv.Itoa(len(vals)) + " times, want once with 13"
	case trimOWS(vals[0]) != Version:
		reason = "Sec-WebSocket-Version must be 13, got " + quote(vals[0])
	default:
		return nil
	}
	return &RejectError{
		Status: http.StatusUpgradeRequired,
		Reason: reason,
		Header: http.Header{fieldVersion: {Version}},
	}
}

// maxKeyLen bounds the Sec-WebSocket-Key value CheckRequest decodes to
// report how many bytes it holds; a 16-byte key is 24 characters.
const maxKeyLen = 64

// checkKey returns the Sec-WebSocket-Key value of h, or a 400 RejectError
// unless it appears once and is the base64 of exactly 16 bytes.
func checkKey(h http.Header) (string, error) {
	// §4.2.1 item 5: "A |Sec-WebSocket-Key| header field with a
	// base64-encoded (see Section 4 of [RFC4648]) value that, when decoded,
	// is 16 bytes in length." §11.3.1: "The |Sec-WebSocket-Key| header
	// field MUST NOT appear more than once in an HTTP request."
	vals := h.Values(fieldKey)
	switch len(vals) {
	case 0:
		return "", badRequest("missing Sec-WebSocket-Key header")
	case 1:
	default:
		return "", badRequest("Sec-WebSocket-Key header appears " + strconv.Itoa(len(vals)) + " times, must appear once")
	}
	key := trimOWS(vals[0])
	if key == "" {
		return "", badRequest("Sec-WebSocket-Key is empty, must be base64 of 16 bytes")
	}
	if len(key) > maxKeyLen {
		return "", badRequest("Sec-WebSocket-Key must be base64 of 16 bytes, got a " + strconv.Itoa(len(key)) + "-character value")
	}
	// The decoder skips CR and LF; a 16-byte value is 24 characters, so a
	// length check after decoding leaves no byte unchecked. Padding bits
	// are not required to be zero: §4.1's own example key,
	// "AQIDBAUGBwgJCgsMDQ4PEC==", has one set.
	var buf [maxKeyLen]byte
	n, err := base64.StdEncoding.Decode(buf[:], []byte(key))
	if err != nil || n == 16 && len(key) != 24 {
		return "", badRequest("Sec-WebSocket-Key " + quote(key) + " is not base64 (RFC 4648 §4, padded)")
	}
	if n != 16 {
		return "", badRequest("Sec-WebSocket-Key must be base64 of 16 bytes, got " + strconv.Itoa(n))
	}
	return key, nil
}

// malformedReason returns the rejection reason for an error from
// ParseProtocols or ParseExtensions.
func malformedReason(err error) string {
	var me *malformedError
	if errors.As(err, &me) {
		return me.reason()
	}
	return oneline.Of(err.Error())
}

func badRequest(reason string) *RejectError {
	return &RejectError{Status: http.StatusBadRequest, Reason: reason}
}

// validAuthority reports whether s is a plausible RFC 3986 authority
// without userinfo, as the Host header carries it: reg-name or IP
// characters and an optional ":port". It checks the character set and the
// port, not the structure of IP literals.
func validAuthority(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		default:
			switch c {
			case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '[', ']', '%':
			default:
				return false
			}
		}
	}
	_, _, ok := splitHostPort(s)
	return ok
}

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port". The port,
// if present, is 1 to 5 digits; a host without brackets has no ':'. ok is
// false for anything else.
func splitHostPort(s string) (host, port string, ok bool) {
	rest := ""
	if len(s) > 0 && s[0] == '[' {
		i := 0
		for i < len(s) && s[i] != ']' {
			i++
		}
		if i == len(s) || i == 1 {
			return "", "", false
		}
		host, rest = s[:i+1], s[i+1:]
		if rest != "" && rest[0] != ':' {
			return "", "", false
		}
	} else {
		host = s
		for i := 0; i < len(s); i++ {
			if s[i] == ':' {
				host, rest = s[:i], s[i:]
				break
			}
		}
		if host == "" {
			return "", "", false
		}
	}
	if rest == "" {
		return host, "", true
	}
	port = rest[1:]
	if port == "" || len(port) > 5 {
		return "", "", false
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return "", "", false
		}
	}
	return host, port, true
}
