package httpstream

import (
	"strconv"
	"unicode/utf8"

	"github.com/pushwire/pushwire/hub"
)

// The JSON records of the WebSocket, streaming and iframe transports, and the
// entries of a long-poll response. Each is one JSON object:
//
//	{"cursor":"k3x9:17"}                             where the stream starts
//	{"seq":18,"type":"chat","data":"hello"}          an entry ("type" omitted when empty)
//	{"gap":{"after":3,"oldest":10,"lost":6},"cursor":"k3x9:9"}   entries lost
//	{"reset":{"epoch":"p2m7","after":0},"cursor":"p2m7:0"}   a new history
//	{"error":"..."}                                  a message the server refused
//
// Strings are escaped so that the record can be placed as is inside an HTML
// <script> element and a JavaScript source: besides what JSON requires, <, >,
// &, U+2028 and U+2029 are written as \u escapes, and bytes that are not UTF-8
// become U+FFFD.

// appendCursorRecord appends {"cursor":"N"}.
func appendCursorRecord(dst []byte, c hub.Cursor) []byte {
	dst = append(dst, `{"cursor":"`...)
	dst = appendCursor(dst, c)
	return append(dst, `"}`...)
}

// appendEntryRecord appends {"seq":N,"type":T,"data":D}.
func appendEntryRecord(dst []byte, e *hub.Entry) []byte {
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, uint64(e.Seq), 10)
	if e.Type != "" {
		dst = append(dst, `,"type":`...)
		dst = appendJSONString(dst, []byte(e.Type))
	}
	dst = append(dst, `,"data":`...)
	dst = appendJSONString(dst, e.Data)
	return append(dst, '}')
}

// appendGapRecord appends {"gap":{...},"cursor":"N"}.
func appendGapRecord(dst []byte, g hub.GapError, next hub.Cursor) []byte {
	dst = append(dst, `{"gap":`...)
	dst = appendGap(dst, g)
	dst = append(dst, `,"cursor":"`...)
	dst = appendCursor(dst, next)
	return append(dst, `"}`...)
}

// appendGap appends {"after":A,"oldest":O,"lost":L}.
func appendGap(dst []byte, g hub.GapError) []byte {
	dst = append(dst, `{"after":`...)
	dst = strconv.AppendUint(dst, uint64(g.After), 10)
	dst = append(dst, `,"oldest":`...)
	dst = strconv.AppendUint(dst, uint64(g.Oldest), 10)
	dst = append(dst, `,"lost":`...)
	dst = strconv.AppendUint(dst, g.Lost, 10)
	return append(dst, '}')
}

// appendResetRecord appends {"reset":{...},"cursor":"EPOCH:N"}.
func appendResetRecord(dst []byte, r hub.ResetError) []byte {
	dst = append(dst, `{"reset":`...)
	dst = appendReset(dst, r)
	dst = append(dst, `,"cursor":"`...)
	dst = appendCursor(dst, r.Cursor())
	return append(dst, `"}`...)
}

// appendReset appends {"epoch":"E","after":N}: the log's new epoch and the
// sequence number the client resumes after.
func appendReset(dst []byte, r hub.ResetError) []byte {
	dst = append(dst, `{"epoch":"`...)
	dst = append(dst, r.Epoch...) // letters, digits, '-' and '_' only
	dst = append(dst, `","after":`...)
	dst = strconv.AppendUint(dst, uint64(r.After), 10)
	return append(dst, '}')
}

// appendErrorRecord appends {"error":"msg"}.
func appendErrorRecord(dst []byte, msg string) []byte {
	dst = append(dst, `{"error":`...)
	dst = appendJSONString(dst, []byte(msg))
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal (RFC 8259 §7) that is
// also safe inside an HTML <script> element and in any JavaScript source.
//
// HTML §13.1.2.6 (restrictions on the contents of raw text elements): the
// text of a script element "must not contain any occurrences of the string
// "</script"" and, to stay out of the script data escaped states, should
// not contain "<!--"; escaping every < rules out both. & and > are escaped as
// well, as encoding/json does, so that the record can also be placed in
// other HTML contexts. U+2028 and U+2029 end a line in JavaScript before
// ES2019, so they are escaped too. Invalid UTF-8 becomes U+FFFD: RFC 8259
// §8.1 "JSON text exchanged between systems that are not part of a closed
// ecosystem MUST be encoded using UTF-8".
func appendJSONString(dst []byte, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default: // control characters, <, >, &
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendValidUTF8 appends p with every byte that is not part of valid UTF-8
// replaced by U+FFFD.
func appendValidUTF8(dst, p []byte) []byte {
	start := 0
	for i := 0; i < len(p); {
		if p[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, p[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(dst, p[start:]...)
}
