package handshake

import (
	"net/http"
	"strconv"
)

// Extension is one entry of a Sec-WebSocket-Extensions header: an extension
// offer in a request or an accepted extension in a response (RFC 6455
// §9.1). The zero value has no name and is not a valid entry.
type Extension struct {
	// Name is the extension-token, e.g. "permessage-deflate".
	Name string
	// Params are the extension-params in the order they appeared.
	Params []Param
}

// Param is one extension parameter. A Value of "" means the parameter has
// no value ("client_no_context_takeover"): on the wire a value is a token
// or a quoted-string that unquotes to a token, so it is never empty.
type Param struct {
	Name, Value string
}

// String returns e in canonical form, "name; p1; p2=v", as FormatExtensions
// writes it. Values that are tokens, which is every value ParseExtensions
// returns, are written bare; any other value is written as a
// quoted-string, which ParseExtensions will refuse because RFC 6455 §9.1
// requires the unescaped value to be a token.
func (e Extension) String() string {
	return string(appendExtension(nil, e))
}

// Param returns the value of the first parameter of e named name, compared
// ASCII case-insensitively, and whether there is one. A parameter without
// a value yields ("", true).
func (e Extension) Param(name string) (value string, present bool) {
	for _, p := range e.Params {
		if asciiEqualFold(p.Name, name) {
			return p.Value, true
		}
	}
	return "", false
}

// FormatExtensions formats exts as one Sec-WebSocket-Extensions value, the
// entries in canonical form separated by ", ". It returns "" for none.
func FormatExtensions(exts []Extension) string {
	var b []byte
	for i, e := range exts {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendExtension(b, e)
	}
	return string(b)
}

func appendExtension(b []byte, e Extension) []byte {
	b = append(b, e.Name...)
	for _, p := range e.Params {
		b = append(b, "; "...)
		b = append(b, p.Name...)
		if p.Value == "" {
			continue
		}
		b = append(b, '=')
		if isToken(p.Value) {
			b = append(b, p.Value...)
			continue
		}
		b = append(b, '"')
		for i := 0; i < len(p.Value); i++ {
			if c := p.Value[i]; c == '"' || c == '\\' {
				b = append(b, '\\')
			}
			b = append(b, p.Value[i])
		}
		b = append(b, '"')
	}
	return b
}

// validExtension reports whether e would be sent as written: a token name,
// token parameter names, and values that are tokens or empty.
func validExtension(e Extension) bool {
	if !isToken(e.Name) {
		return false
	}
	for _, p := range e.Params {
		if !isToken(p.Name) || p.Value != "" && !isToken(p.Value) {
			return false
		}
	}
	return true
}

// ParseExtensions parses every Sec-WebSocket-Extensions line of h and
// returns the entries in order. The grammar is RFC 6455 §9.1 with the
// implied optional whitespace around separators:
//
//	extension-list = 1#extension
//	extension = extension-token *( ";" extension-param )
//	extension-param = token [ "=" (token | quoted-string) ]
//
// where "the value after quoted-string unescaping MUST conform to the
// 'token' ABNF". Several lines are one list (§9.1: the field "MAY be split
// or combined across multiple lines"). Empty list elements are skipped
// (RFC 7230 §7). Anything else that does not match, such as a missing
// name, a trailing ";", "=" without a value, an empty or non-token quoted
// value, or a control character, yields an error wrapping ErrMalformed:
// §9.1 says "the recipient of such malformed data MUST immediately _Fail
// the WebSocket Connection_", so nothing is guessed. Names and unquoted
// values share memory with h. The result is nil when there is no entry.
func ParseExtensions(h http.Header) ([]Extension, error) {
	var exts []Extension
	for _, line := range h.Values(fieldExtensions) {
		var err error
		if exts, err = parseExtensionLine(exts, line); err != nil {
			return nil, err
		}
	}
	return exts, nil
}

// parseExtensionLine appends the entries of one header line to dst.
func parseExtensionLine(dst []Extension, line string) ([]Extension, error) {
	fail := func(pos int, what string) ([]Extension, error) {
		return nil, &malformedError{
			field:  "Sec-WebSocket-Extensions",
			detail: what + " at byte " + strconv.Itoa(pos) + " of " + quote(line),
		}
	}
	p := 0
	for {
		p = skipOWS(line, p)
		if p == len(line) {
			return dst, nil
		}
		if line[p] == ',' { // an empty list element
			p++
			continue
		}
		name, q := scanToken(line, p)
		if name == "" {
			return fail(p, "missing extension name")
		}
		ext := Extension{Name: name}
		p = skipOWS(line, q)
		for p < len(line) && line[p] == ';' {
			p = skipOWS(line, p+1)
			pname, q := scanToken(line, p)
			if pname == "" {
				return fail(p, "missing parameter name after \";\"")
			}
			p = skipOWS(line, q)
			value := ""
			if p < len(line) && line[p] == '=' {
				p = skipOWS(line, p+1)
				if p < len(line) && line[p] == '"' {
					v, q, what := scanQuoted(line, p)
					if what != "" {
						return fail(q, what)
					}
					if !isToken(v) {
						return fail(p, "quoted value "+quote(v)+" of parameter "+quote(pname)+" is not a token")
					}
					value, p = v, q
				} else {
					value, q = scanToken(line, p)
					if value == "" {
						return fail(p, "missing value after \"=\" of parameter "+quote(pname))
					}
					p = q
				}
				p = skipOWS(line, p)
			}
			ext.Params = append(ext.Params, Param{Name: pname, Value: value})
		}
		if p < len(line) && line[p] != ',' {
			return fail(p, "unexpected "+quote(line[p:p+1])+" after extension "+quote(name))
		}
		dst = append(dst, ext)
	}
}

// skipOWS returns the index of the first byte at or after i in s that is
// not SP or HTAB.
func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// scanToken returns the longest run of tchars at s[i:] and the index after
// it; the token is "" when s[i] is not a tchar.
func scanToken(s string, i int) (string, int) {
	j := i
	for j < len(s) && isTchar(s[j]) {
		j++
	}
	return s[i:j], j
}

// scanQuoted reads an RFC 7230 §3.2.6 quoted-string that starts with the
// '"' at s[i]. It returns the unescaped content and the index after the
// closing quote, or a description of the fault and the index where it is.
func scanQuoted(s string, i int) (value string, next int, fault string) {
	j := i + 1
	var b []byte // nil until the first quoted-pair
	for j < len(s) {
		c := s[j]
		switch {
		case c == '"':
			if b != nil {
				return string(b), j + 1, ""
			}
			return s[i+1 : j], j + 1, ""
		case c == '\\':
			// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
			if j+1 == len(s) {
				return "", j, "unterminated quoted-string"
			}
			e := s[j+1]
			if e < ' ' && e != '\t' || e == 0x7f {
				return "", j + 1, "control character in quoted-string"
			}
			if b == nil {
				b = append([]byte(nil), s[i+1:j]...)
			}
			b = append(b, e)
			j += 2
		case c < ' ' && c != '\t' || c == 0x7f:
			// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
			return "", j, "control character in quoted-string"
		default:
			if b != nil {
				b = append(b, c)
			}
			j++
		}
	}
	return "", j, "unterminated quoted-string"
}
