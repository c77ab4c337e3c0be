package handshake

import (
	"errors"
	"net/http"
	"strconv"
)

// The WebSocket header field names in the form http.Header keys them
// (textproto.CanonicalMIMEHeaderKey), so that looking them up allocates
// nothing. Messages spell them as RFC 6455 does.
const (
	fieldKey        = "Sec-Websocket-Key"
	fieldAccept     = "Sec-Websocket-Accept"
	fieldVersion    = "Sec-Websocket-Version"
	fieldProtocol   = "Sec-Websocket-Protocol"
	fieldExtensions = "Sec-Websocket-Extensions"
)

// ErrMalformed reports a handshake header field whose value does not conform
// to its grammar. Errors returned by ParseExtensions and ParseProtocols wrap
// it and say which field, what was wrong and where; match with errors.Is.
var ErrMalformed = errors.New("handshake: malformed header")

// malformedError is the error that wraps ErrMalformed: the header field and
// a one-line description of the fault.
type malformedError struct {
	field  string // canonical header name, e.g. "Sec-WebSocket-Extensions"
	detail string // one line, input quoted with quote
}

func (e *malformedError) Error() string {
	return ErrMalformed.Error() + ": " + e.field + ": " + e.detail
}

func (e *malformedError) Unwrap() error { return ErrMalformed }

// reason is the text a RejectError carries for e: it names the field and
// the fault, without the package prefix.
func (e *malformedError) reason() string {
	return "malformed " + e.field + ": " + e.detail
}

// HeaderHasToken reports whether any line of the header field name in h
// has token as one of its comma-separated elements, compared ASCII
// case-insensitively after trimming optional whitespace (RFC 7230 §7). It
// is used for "Upgrade: websocket" and "Connection: Upgrade", where the
// value may be a list such as "keep-alive, Upgrade". It allocates nothing
// when name is in canonical form.
func HeaderHasToken(h http.Header, name, token string) bool {
	for _, line := range h.Values(name) {
		for len(line) > 0 {
			elem := line
			rest := ""
			for i := 0; i < len(line); i++ {
				if line[i] == ',' {
					elem, rest = line[:i], line[i+1:]
					break
				}
			}
			if asciiEqualFold(trimOWS(elem), token) {
				return true
			}
			line = rest
		}
	}
	return false
}

// ParseProtocols parses every Sec-WebSocket-Protocol line of h and returns
// the offered subprotocols in order. RFC 6455 §4.1 item 10: "The ABNF for
// the value of this header field is 1#token"; §11.3.4: the field "MAY
// appear multiple times in an HTTP request (which is logically the same as
// a single |Sec-WebSocket-Protocol| header field that contains all
// values)". An element that is not an RFC 7230 token yields an error
// wrapping ErrMalformed. Empty list elements (",,", or an empty line) are
// skipped, as RFC 7230 §7 asks of recipients. Duplicates are kept: they are
// the client's fault (§4.1: the elements "MUST all be unique strings") but
// harmless to subprotocol selection. The result is nil when nothing is
// offered; its strings share memory with h.
func ParseProtocols(h http.Header) ([]string, error) {
	var out []string
	for _, line := range h.Values(fieldProtocol) {
		start := 0
		for i := 0; i <= len(line); i++ {
			if i < len(line) && line[i] != ',' {
				continue
			}
			elem := trimOWS(line[start:i])
			if elem != "" {
				if !isToken(elem) {
					return nil, &malformedError{
						field:  "Sec-WebSocket-Protocol",
						detail: "element " + quote(elem) + " is not a token in " + quote(line),
					}
				}
				out = append(out, elem)
			}
			start = i + 1
		}
	}
	return out, nil
}

// SelectProtocol returns the first of the server's supported subprotocols,
// in the server's order of preference, that the client offered, or "" if
// there is none. Names are compared exactly (case-sensitively): RFC 6455
// §4.2.2 says the value chosen "MUST be derived from the client's
// handshake, specifically by selecting one of the values from the
// |Sec-WebSocket-Protocol| field". An empty string is never selected: it
// "is not a legal value for this field".
func SelectProtocol(offered, supported []string) string {
	for _, s := range supported {
		if s == "" {
			continue
		}
		for _, o := range offered {
			if o == s {
				return s
			}
		}
	}
	return ""
}

// isTchar reports whether c is an RFC 7230 §3.2.6 tchar, which is also the
// RFC 2616 token character set (CHAR minus CTLs and separators) that
// RFC 6455 refers to.
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// isToken reports whether s is an RFC 7230 token: 1*tchar.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

// validFieldName reports whether s may be sent as a header field name.
func validFieldName(s string) bool { return isToken(s) }

// validFieldValue reports whether s may be sent as a header field value:
// RFC 7230 §3.2 field-content has no control characters other than HTAB,
// so in particular no CR or LF that would end the field early.
func validFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// trimOWS removes RFC 7230 optional whitespace (SP and HTAB) at both ends.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// asciiEqualFold reports whether a and b are equal under ASCII case
// folding, RFC 6455 §2.1's "ASCII case-insensitive" comparison. Unlike
// strings.EqualFold it does not fold non-ASCII letters, so "\u212A" (the
// Kelvin sign) does not match "k".
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// toLowerASCII returns s with ASCII letters lowered; other bytes are kept.
func toLowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lowerASCII(b[j])
			}
			return string(b)
		}
	}
	return s
}

// maxQuoted is how many bytes of peer input an error message repeats.
const maxQuoted = 64

// quote returns s as a Go-quoted string, cut to maxQuoted bytes with "..."
// after the closing quote when longer, so that an error or a rejection
// reason is one line of bounded length whatever the peer sent.
func quote(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "..."
	}
	return strconv.Quote(s)
}

// joinValues returns the lines of one header field for an error message:
// quoted, and joined with ", " when there are several.
func joinValues(vals []string) string {
	if len(vals) == 1 {
		return quote(vals[0])
	}
	s := ""
	for i, v := range vals {
		if i > 0 {
			s += ", "
		}
		s += v
		if len(s) > maxQuoted {
			break
		}
	}
	return quote(s)
}
