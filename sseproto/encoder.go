package sseproto

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// An Encoder writes events and comments to a text/event-stream. It cannot
// produce a malformed stream: what it cannot write faithfully it refuses
// with an error wrapping ErrInvalidEvent, before writing anything. Each
// event or comment goes to the underlying writer in a single Write call.
//
// An Encoder is not safe for concurrent use; Stream serializes its own.
type Encoder struct {
	w   io.Writer
	buf []byte
}

// NewEncoder returns an Encoder that writes to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// Encode writes ev as one event: the event, id and retry fields when set,
// then Data as one data field per line. CR, LF and CRLF in Data all end a
// line, so each arrives as LF. Encode fails, writing nothing, if Type
// contains CR or LF, if ID contains CR, LF or U+0000, or if any field is not
// valid UTF-8.
func (e *Encoder) Encode(ev Event) error {
	b, err := AppendEvent(e.buf[:0], ev)
	if err != nil {
		return err
	}
	e.buf = b
	_, err = e.w.Write(b)
	return err
}

// Comment writes text as comment lines, which receivers ignore; servers
// send them to keep idle connections open. CR, LF and CRLF in text start a
// new comment line. An empty text writes a bare ":" line.
func (e *Encoder) Comment(text string) error {
	b, err := appendComment(e.buf[:0], text)
	if err != nil {
		return err
	}
	e.buf = b
	_, err = e.w.Write(b)
	return err
}

// AppendEvent appends the wire form of ev to dst, as Encoder.Encode writes
// it, and returns the extended buffer. An event that Encode refuses leaves
// dst as it was and returns an error wrapping ErrInvalidEvent. It
// allocates nothing but to grow dst.
//
// (AppendEvent and AppendEventBytes are kept from being inlined: a caller
// in another package would then call the generic encoder through its
// dictionary, where escape analysis cannot see that ev's fields stay put,
// and a caller's scratch buffers would move to the heap.)
//
//go:noinline
func AppendEvent(dst []byte, ev Event) ([]byte, error) {
	return appendEvent(dst, ev.Type, ev.ID, ev.Data, ev.Retry)
}

// AppendEventBytes is AppendEvent for an event whose id and data are byte
// slices, such as a number formatted into a scratch buffer and a payload
// held as bytes: it appends the event
//
//	Event{Type: typ, ID: string(id), Data: string(data), Retry: retry}
//
// without converting id and data to strings.
//
//go:noinline
func AppendEventBytes(dst []byte, typ string, id, data []byte, retry time.Duration) ([]byte, error) {
	return appendEvent(dst, typ, id, data, retry)
}

// AppendComment appends text as comment lines, as Encoder.Comment writes
// them, and returns the extended buffer; the error is that of Comment.
func AppendComment(dst []byte, text string) ([]byte, error) {
	return appendComment(dst, text)
}

// text is what an event's fields may be given as.
type text interface{ string | []byte }

// appendEvent appends the wire form of an event to b, or returns b and an
// error wrapping ErrInvalidEvent.
func appendEvent[I, D text](b []byte, typ string, id I, data D, retry time.Duration) ([]byte, error) {
	// §9.2.5: the stream is UTF-8 and "any-char = %x0000-0009 /
	// %x000B-000C / %x000E-10FFFF"; a field value cannot hold CR or LF.
	if i := strings.IndexAny(typ, "\r\n"); i >= 0 {
		return b, fmt.Errorf("%w: event type contains %q", ErrInvalidEvent, typ[i])
	}
	if !utf8.ValidString(typ) {
		return b, fmt.Errorf("%w: event type is not valid UTF-8", ErrInvalidEvent)
	}
	// §9.2.6 ignores an id field whose value contains U+0000 NULL, so it
	// could not arrive.
	for i := 0; i < len(id); i++ {
		if c := id[i]; c == '\r' || c == '\n' || c == 0 {
			return b, fmt.Errorf("%w: id contains %q", ErrInvalidEvent, c)
		}
	}
	if !validUTF8(id) {
		return b, fmt.Errorf("%w: id is not valid UTF-8", ErrInvalidEvent)
	}
	if !validUTF8(data) {
		return b, fmt.Errorf("%w: data is not valid UTF-8", ErrInvalidEvent)
	}
	if typ != "" {
		b = append(b, "event: "...)
		b = append(b, typ...)
		b = append(b, '\n')
	}
	if len(id) > 0 {
		b = append(b, "id: "...)
		b = append(b, id...)
		b = append(b, '\n')
	}
	if retry > 0 {
		ms := retry / time.Millisecond
		if retry%time.Millisecond != 0 {
			ms++
		}
		b = append(b, "retry: "...)
		b = strconv.AppendInt(b, int64(ms), 10)
		b = append(b, '\n')
	}
	b = appendLines(b, "data: ", data)
	return append(b, '\n'), nil
}

// validUTF8 reports whether s is valid UTF-8.
func validUTF8[T text](s T) bool {
	// The instantiation for strings takes the first case and the one for
	// byte slices the second; neither converts (or allocates).
	if isString[T]() {
		return utf8.ValidString(string(s))
	}
	return utf8.Valid([]byte(s))
}

// isString reports whether T is string (else it is []byte).
func isString[T text]() bool {
	_, ok := any((*T)(nil)).(*string)
	return ok
}

// appendComment appends text as comment lines to b.
func appendComment(b []byte, text string) ([]byte, error) {
	if !utf8.ValidString(text) {
		return b, fmt.Errorf("%w: comment is not valid UTF-8", ErrInvalidEvent)
	}
	if text == "" {
		return append(b, ":\n"...), nil
	}
	return appendLines(b, ": ", text), nil
}

// appendLines appends prefix+line+LF for each line of s, where CRLF, LF and
// CR end a line. An empty s gives one empty line.
func appendLines[T text](b []byte, prefix string, s T) []byte {
	for {
		b = append(b, prefix...)
		i := indexEOL(s)
		if i < 0 {
			b = append(b, s...)
			return append(b, '\n')
		}
		b = append(b, s[:i]...)
		b = append(b, '\n')
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
}

// indexEOL returns the index of the first CR or LF in s, or -1.
func indexEOL[T text](s T) int {
	var lf int
	if isString[T]() {
		lf = strings.IndexByte(string(s), '\n')
	} else {
		lf = bytes.IndexByte([]byte(s), '\n')
	}
	head := s
	if lf >= 0 {
		head = s[:lf]
	}
	var cr int
	if isString[T]() {
		cr = strings.IndexByte(string(head), '\r')
	} else {
		cr = bytes.IndexByte([]byte(head), '\r')
	}
	if cr >= 0 {
		return cr
	}
	return lf
}
