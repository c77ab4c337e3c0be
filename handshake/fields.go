package handshake

import (
	"maps"
	"net/http"
	"net/textproto"
	"slices"
)

// A handshake message, for the table of reserved header fields.
type message uint8

const (
	h1Request  message = 1 << iota // the client's GET of RFC 6455 §4.1
	h1Response                     // the server's 101 of RFC 6455 §4.2.2
	h2Request                      // the client's extended CONNECT of RFC 8441 §4, §5
	h2Response                     // the server's 2xx answer to it, RFC 8441 §5

	requests  = h1Request | h2Request
	everyMsg  = h1Request | h1Response | h2Request | h2Response
	overHTTP2 = h2Request | h2Response
)

// reservedFields is the one table of the header fields that a caller's
// extra fields (ClientOptions.Header, the extra argument of AppendResponse
// and WriteConnectResponse) never set, by canonical name, with the
// messages in which each is reserved: the handshake writes the field
// itself, or the message must not carry it.
var reservedFields = map[string]message{
	// The authority: the Host line over HTTP/1.1, :authority over HTTP/2.
	// A Host entry among the extra fields replaces the URL's host; it is
	// taken out and checked on its own.
	"Host": requests,
	// The handshake's own fields (RFC 6455 §4.1, §4.2.2; RFC 8441 §5).
	// Over HTTP/2, Upgrade and Connection are connection-specific fields
	// as well (below).
	"Upgrade":       everyMsg,
	"Connection":    everyMsg,
	fieldKey:        requests,
	fieldVersion:    requests,
	fieldAccept:     everyMsg,
	fieldProtocol:   everyMsg,
	fieldExtensions: everyMsg,
	// Framing: RFC 9110 §8.6 and RFC 9112 §6.1 (a 101 response carries no
	// content, and RFC 9112 §6.1: a server "MUST NOT send a
	// Transfer-Encoding header field in any response with a status code of
	// 1xx"); over HTTP/2 the length is the DATA frames' business (RFC 9113
	// §8.1).
	"Content-Length":    everyMsg,
	"Transfer-Encoding": everyMsg,
	// RFC 9113 §8.2.2: "An endpoint MUST NOT generate an HTTP/2 message
	// containing connection-specific header fields", such as Keep-Alive
	// and Proxy-Connection; TE is allowed only as "trailers", which a
	// WebSocket has no use for.
	"Keep-Alive":       overHTTP2,
	"Proxy-Connection": overHTTP2,
	"Te":               overHTTP2,
}

// reserved reports whether the header field with canonical name is
// reserved in the message m.
func reserved(canonical string, m message) bool {
	return reservedFields[canonical]&m != 0
}

// checkExtraFields validates a client's extra header fields: every name a
// token, no value with a control character (so none can inject a header
// line), and a Host entry a valid authority. It returns the Host entry, ""
// if none, or the reason the fields are refused.
func checkExtraFields(h http.Header) (host, reason string) {
	for k, vs := range h {
		if !validFieldName(k) {
			return "", "request header name " + quote(k) + " is not a token"
		}
		for _, v := range vs {
			if !validFieldValue(v) {
				return "", "request header " + k + " has a value with a control character"
			}
		}
		if textproto.CanonicalMIMEHeaderKey(k) == "Host" && len(vs) > 0 && vs[0] != "" {
			if !validAuthority(vs[0]) {
				return "", "Host header " + quote(vs[0]) + " is not a valid authority"
			}
			host = vs[0]
		}
	}
	return host, ""
}

// appendExtra appends the fields of extra in sorted key order, skipping
// those reserved in m, invalid names and invalid values. Keys are written
// as they are spelled in the map.
func appendExtra(dst []byte, extra http.Header, m message) []byte {
	if len(extra) == 0 {
		return dst
	}
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		if !validFieldName(k) || reserved(textproto.CanonicalMIMEHeaderKey(k), m) {
			continue
		}
		for _, v := range extra[k] {
			if validFieldValue(v) {
				dst = appendField(dst, k, v)
			}
		}
	}
	return dst
}

// addExtra adds the fields of extra to h under their canonical keys,
// skipping those reserved in m, invalid names and invalid values.
func addExtra(h, extra http.Header, m message) {
	for k, vs := range extra {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if !validFieldName(k) || reserved(ck, m) {
			continue
		}
		for _, v := range vs {
			if validFieldValue(v) {
				h[ck] = append(h[ck], v)
			}
		}
	}
}

func appendField(dst []byte, name, value string) []byte {
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, value...)
	return append(dst, "\r\n"...)
}
