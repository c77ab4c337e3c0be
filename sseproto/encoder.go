package sseproto

import (
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
	b, err := appendEvent(e.buf[:0], ev)
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

// appendEvent appends the wire form of ev to b.
func appendEvent(b []byte, ev Event) ([]byte, error) {
	// §9.2.5: the stream is UTF-8 and "any-char = %x0000-0009 /
	// %x000B-000C / %x000E-10FFFF"; a field value cannot hold CR or LF.
	if i := strings.IndexAny(ev.Type, "\r\n"); i >= 0 {
		return b, fmt.Errorf("%w: event type contains %q", ErrInvalidEvent, ev.Type[i])
	}
	if !utf8.ValidString(ev.Type) {
		return b, fmt.Errorf("%w: event type is not valid UTF-8", ErrInvalidEvent)
	}
	// §9.2.6 ignores an id field whose value contains U+0000 NULL, so it
	// could not arrive.
	if i := strings.IndexAny(ev.ID, "\r\n\x00"); i >= 0 {
		return b, fmt.Errorf("%w: id contains %q", ErrInvalidEvent, ev.ID[i])
	}
	if !utf8.ValidString(ev.ID) {
		return b, fmt.Errorf("%w: id is not valid UTF-8", ErrInvalidEvent)
	}
	if !utf8.ValidString(ev.Data) {
		return b, fmt.Errorf("%w: data is not valid UTF-8", ErrInvalidEvent)
	}
	if ev.Type != "" {
		b = append(b, "event: "...)
		b = append(b, ev.Type...)
		b = append(b, '\n')
	}
	if ev.ID != "" {
		b = append(b, "id: "...)
		b = append(b, ev.ID...)
		b = append(b, '\n')
	}
	if ev.Retry > 0 {
		ms := ev.Retry / time.Millisecond
		if ev.Retry%time.Millisecond != 0 {
			ms++
		}
		b = append(b, "retry: "...)
		b = strconv.AppendInt(b, int64(ms), 10)
		b = append(b, '\n')
	}
	b = appendLines(b, "data: ", ev.Data)
	return append(b, '\n'), nil
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
func appendLines(b []byte, prefix, s string) []byte {
	for {
		b = append(b, prefix...)
		i := indexEOLString(s)
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

// indexEOLString returns the index of the first CR or LF in s, or -1.
func indexEOLString(s string) int {
	lf := strings.IndexByte(s, '\n')
	head := s
	if lf >= 0 {
		head = s[:lf]
	}
	if cr := strings.IndexByte(head, '\r'); cr >= 0 {
		return cr
	}
	return lf
}
