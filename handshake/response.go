package handshake

import "net/http"

// AppendResponse appends the server's opening handshake response (RFC 6455
// §4.2.2 step 5) to dst and returns the extended buffer:
//
//	HTTP/1.1 101 Switching Protocols
//	Upgrade: websocket
//	Connection: Upgrade
//	Sec-WebSocket-Accept: <AcceptKey(key)>
//	Sec-WebSocket-Protocol: <protocol>        (if protocol != "")
//	Sec-WebSocket-Extensions: <extensions>    (if extensions != "")
//	<extra headers, keys sorted>
//
// and the empty line, each line ending in CRLF. key is the client's
// Sec-WebSocket-Key as sent (Request.Key). protocol is written only if it
// is a token (§4.2.2: "The ABNF for the value of this header field is
// (token)") and extensions only if it is a valid field value; otherwise
// they are left out, so a caller's mistake can make the client fail the
// handshake but can never inject header lines. From extra, fields that
// would duplicate or contradict the lines above (Upgrade, Connection,
// Sec-WebSocket-Accept, Sec-WebSocket-Protocol, Sec-WebSocket-Extensions)
// are skipped, as are Content-Length and Transfer-Encoding (RFC 7230
// §3.3.1 and §3.3.2: a server MUST NOT send them in a 1xx response),
// invalid field names, and values with CR, LF or another control
// character. Keys of extra are written as they are spelled in the map.
//
// With nil extra and enough room in dst it allocates nothing.
func AppendResponse(dst []byte, key, protocol, extensions string, extra http.Header) []byte {
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\n"+
		"Upgrade: websocket\r\n"+
		"Connection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: "...)
	dst = appendAcceptKey(dst, key)
	dst = append(dst, "\r\n"...)
	if protocol != "" && isToken(protocol) {
		dst = appendField(dst, "Sec-WebSocket-Protocol", protocol)
	}
	if extensions != "" && validFieldValue(extensions) {
		dst = appendField(dst, "Sec-WebSocket-Extensions", extensions)
	}
	dst = appendExtra(dst, extra, h1Response)
	return append(dst, "\r\n"...)
}
