package sseproto

import (
	"bytes"
	"io"
	"math"
	"time"
	"unicode/utf8"
)

// DefaultMaxEventSize is the MaxEventSize a Decoder uses when none is given:
// 1 MiB.
const DefaultMaxEventSize = 1 << 20

const (
	// initialBufferSize is the size of a Decoder's read buffer; it grows
	// only for a line longer than that, up to MaxEventSize+1.
	initialBufferSize = 8 << 10
	// keepBufferSize is the largest buffer a Decoder keeps after the long
	// line or large event that grew it has gone.
	keepBufferSize = 64 << 10
	// maxEmptyReads is how many (0, nil) reads in a row end the stream with
	// io.ErrNoProgress, as in bufio.
	maxEmptyReads = 100
)

// utf8BOM is U+FEFF BYTE ORDER MARK encoded as UTF-8.
const utf8BOM = "\xEF\xBB\xBF"

// DecoderOptions configures a Decoder. The zero value (or nil) gives the
// defaults.
type DecoderOptions struct {
	// MaxEventSize bounds the length of one line (without its terminator)
	// and the size of one event's data (its data lines joined with LF).
	// A stream that goes past it fails with ErrLineTooLong or
	// ErrEventTooLarge. Zero or negative means DefaultMaxEventSize (1 MiB).
	MaxEventSize int
	// LastEventID is the last event ID the stream starts with, as when an
	// EventSource reconnects: events dispatched before any id field carry it.
	// Default "".
	LastEventID string
}

// A Decoder reads events from a text/event-stream, following the HTML
// standard, §9.2.6 "Interpreting an event stream", exactly. The result does
// not depend on how the underlying reader splits the stream.
//
// A Decoder is not safe for concurrent use. The strings it returns are its
// own copies and stay valid forever.
type Decoder struct {
	r   io.Reader
	max int

	buf        []byte // read buffer; unconsumed bytes are buf[start:end]
	start, end int
	crScanned  int  // buf[start:start+crScanned] is known to hold no CR
	lfFree     int  // buf[start:lfFree] is known to hold no LF (absolute index)
	skipLF     bool // the last line ended with CR: a LF right after it is part of that terminator
	first      bool // no line has been read yet: a leading BOM is still possible
	readErr    error
	err        error // sticky: returned by every later call to Next

	// The three buffers of §9.2.6, plus what they produced last.
	data    []byte
	typ     []byte
	id      []byte    // the last event ID buffer
	idDirty bool      // id changed since lastID was taken from it
	lastID  string    // the last event ID string
	types   [4]string // recent event types, so a repeated type costs no allocation

	retry    time.Duration
	retrySet bool
}

// NewDecoder returns a Decoder reading from r. opts may be nil.
func NewDecoder(r io.Reader, opts *DecoderOptions) *Decoder {
	d := &Decoder{r: r, max: DefaultMaxEventSize, first: true}
	if opts != nil {
		if opts.MaxEventSize > 0 {
			d.max = opts.MaxEventSize
		}
		d.lastID = opts.LastEventID
		d.id = append(d.id, opts.LastEventID...)
	}
	d.buf = make([]byte, min(initialBufferSize, d.max+1))
	return d
}

// Next returns the next dispatched event. At the end of the stream it
// returns io.EOF; an incomplete event at the end is discarded, as the
// standard requires. A read error other than io.EOF is returned as is. A
// line or event larger than MaxEventSize gives ErrLineTooLong or
// ErrEventTooLarge. Once Next has returned an error it returns the same
// error forever.
func (d *Decoder) Next() (Event, error) {
	if d.err != nil {
		return Event{}, d.err
	}
	for {
		line, err := d.readLine()
		if err != nil {
			d.err = err
			return Event{}, err
		}
		ev, ok, err := d.processLine(line)
		if err != nil {
			d.err = err
			return Event{}, err
		}
		if ok {
			return ev, nil
		}
	}
}

// LastEventID returns the stream's last event ID string: the value of the
// last id field (without U+0000) that was followed by a blank line, whether
// or not that blank line dispatched an event. It is what an EventSource
// sends as Last-Event-ID when it reconnects.
func (d *Decoder) LastEventID() string { return d.lastID }

// Retry returns the reconnection time set by the last valid retry field
// read so far, and whether there was one. Values too large for a
// time.Duration saturate.
func (d *Decoder) Retry() (time.Duration, bool) { return d.retry, d.retrySet }

// readLine returns the next line, without its terminator. The slice
// aliases the read buffer and is valid until the next call.
//
// §9.2.5: "Lines must be separated by either a U+000D CARRIAGE RETURN
// U+000A LINE FEED (CRLF) character pair, a single U+000A LINE FEED (LF)
// character, or a single U+000D CARRIAGE RETURN (CR) character."
func (d *Decoder) readLine() ([]byte, error) {
	emptyReads := 0
	for {
		if d.skipLF && d.start < d.end {
			d.skipLF = false
			if d.buf[d.start] == '\n' {
				d.start++
			}
		}
		if i := d.indexEOL(); i >= 0 {
			line := d.buf[d.start:i]
			d.skipLF = d.buf[i] == '\r'
			d.start = i + 1
			d.crScanned = 0
			if len(line) > d.max {
				return nil, ErrLineTooLong
			}
			return line, nil
		}
		if d.end-d.start > d.max {
			return nil, ErrLineTooLong
		}
		if d.readErr != nil {
			// §9.2.6: "Once the end of the file is reached, any pending
			// data must be discarded."
			return nil, d.readErr
		}
		if n := d.fill(); n == 0 && d.readErr == nil {
			if emptyReads++; emptyReads >= maxEmptyReads {
				d.readErr = io.ErrNoProgress
			}
		}
	}
}

// indexEOL returns the index in buf of the first CR or LF in
// buf[start:end], or -1. It remembers how far it has looked, so a long line
// arriving in many reads, or a stream that uses only CR, is scanned once.
func (d *Decoder) indexEOL() int {
	if d.lfFree < d.start {
		d.lfFree = d.start
	}
	lf := -1
	if i := bytes.IndexByte(d.buf[d.lfFree:d.end], '\n'); i >= 0 {
		lf = d.lfFree + i
		d.lfFree = lf
	} else {
		d.lfFree = d.end
	}
	from, to := d.start+d.crScanned, d.end
	if lf >= 0 {
		to = lf
	}
	if from < to {
		if i := bytes.IndexByte(d.buf[from:to], '\r'); i >= 0 {
			return from + i
		}
	}
	if lf < 0 {
		d.crScanned = d.end - d.start
	}
	return lf
}

// fill moves the unconsumed bytes to the front of the buffer, grows it if
// a partial line fills more than half of it, reads once, and returns how
// many bytes it read.
func (d *Decoder) fill() int {
	n := d.end - d.start
	if n == 0 && len(d.buf) > keepBufferSize {
		d.buf = make([]byte, initialBufferSize)
		d.start, d.end, d.lfFree = 0, 0, 0
	}
	if d.start > 0 {
		copy(d.buf, d.buf[d.start:d.end])
		d.lfFree -= d.start
		d.start, d.end = 0, n
	}
	if limit := d.max + 1; n > len(d.buf)/2 && len(d.buf) < limit {
		nb := make([]byte, min(max(2*len(d.buf), initialBufferSize), limit))
		copy(nb, d.buf[:n])
		d.buf = nb
	}
	m, err := d.r.Read(d.buf[d.end:])
	if m < 0 || m > len(d.buf)-d.end {
		m, err = 0, io.ErrShortBuffer // a broken reader; do not trust it
	}
	d.end += m
	d.readErr = err
	return m
}

// processLine applies one line to the decoder's state and reports whether
// it dispatched an event.
func (d *Decoder) processLine(line []byte) (Event, bool, error) {
	if d.first {
		d.first = false
		// §9.2.5: "The stream must then be parsed ... One leading U+FEFF
		// BYTE ORDER MARK character must be ignored if any are present."
		// (The UTF-8 decode algorithm strips exactly one.)
		line = bytes.TrimPrefix(line, []byte(utf8BOM))
	}
	// §9.2.6: "If the line is empty (a blank line): Dispatch the event."
	if len(line) == 0 {
		ev, ok := d.dispatch()
		return ev, ok, nil
	}
	// §9.2.6: "If the line starts with a U+003A COLON character (:):
	// Ignore the line."
	if line[0] == ':' {
		return Event{}, false, nil
	}
	// §9.2.6: "If the line contains a U+003A COLON character (:): Collect
	// the characters on the line before the first U+003A COLON character
	// (:), and let field be that string. Collect the characters on the line
	// after the first U+003A COLON character (:), and let value be that
	// string. If value starts with a U+0020 SPACE character, remove it from
	// value." Otherwise: "using the whole line as the field name, and the
	// empty string as the field value."
	name, value := line, line[:0]
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "event":
		// "Set the event type buffer to field value."
		d.typ = append(d.typ[:0], value...)
	case "data":
		// "Append the field value to the data buffer, then append a
		// single U+000A LINE FEED (LF) character to the data buffer."
		if len(d.data)+len(value)+1 > d.max {
			return Event{}, false, ErrEventTooLarge
		}
		d.data = append(d.data, value...)
		d.data = append(d.data, '\n')
	case "id":
		// "If the field value does not contain U+0000 NULL, then set the
		// last event ID buffer to the field value. Otherwise, ignore the
		// field."
		if bytes.IndexByte(value, 0) < 0 {
			d.id = append(d.id[:0], value...)
			d.idDirty = true
		}
	case "retry":
		// "If the field value consists of only ASCII digits, then interpret
		// the field value as an integer in base ten, and set the event
		// stream's reconnection time to that integer. Otherwise, ignore the
		// field."
		if r, ok := parseRetry(value); ok {
			d.retry, d.retrySet = r, true
		}
	default:
		// "Otherwise: The field is ignored."
	}
	return Event{}, false, nil
}

// dispatch runs §9.2.6 "dispatch the event".
func (d *Decoder) dispatch() (Event, bool) {
	// Step 1: "Set the last event ID string of the event source to the
	// value of the last event ID buffer. The buffer does not get reset."
	if d.idDirty {
		d.idDirty = false
		if string(d.id) != d.lastID {
			d.lastID = decodeUTF8(d.id)
		}
	}
	// Step 2: "If the data buffer is an empty string, set the data buffer
	// and the event type buffer to the empty string and return."
	if len(d.data) == 0 {
		d.typ = d.typ[:0]
		return Event{}, false
	}
	// Step 3: "If the data buffer's last character is a U+000A LINE FEED
	// (LF) character, then remove the last character from the data buffer."
	// (It always is.)
	data := decodeUTF8(d.data[:len(d.data)-1])
	// Steps 5 and 6: the type is "message" unless "the event type buffer
	// has a value other than the empty string".
	typ := "message"
	if len(d.typ) > 0 {
		typ = d.eventType()
	}
	// Step 7: "Set the data buffer and the event type buffer to the empty
	// string."
	d.typ = d.typ[:0]
	if cap(d.data) > keepBufferSize {
		d.data = nil
	} else {
		d.data = d.data[:0]
	}
	return Event{Type: typ, Data: data, ID: d.lastID}, true
}

// eventType returns the event type buffer as a string, reusing one of the
// last few types seen.
func (d *Decoder) eventType() string {
	for _, t := range d.types {
		if t == string(d.typ) {
			return t
		}
	}
	t := decodeUTF8(d.typ)
	copy(d.types[1:], d.types[:len(d.types)-1])
	d.types[0] = t
	return t
}

// parseRetry parses a retry field value: one or more ASCII digits, a
// number of milliseconds. Values past the range of time.Duration saturate.
func parseRetry(b []byte) (time.Duration, bool) {
	if len(b) == 0 {
		return 0, false
	}
	const maxMS = math.MaxInt64 / int64(time.Millisecond)
	var ms int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if ms <= maxMS {
			ms = ms*10 + int64(c-'0')
		}
	}
	return time.Duration(min(ms, maxMS)) * time.Millisecond, true
}

// decodeUTF8 returns b as a string, decoded the way the Encoding standard's
// "UTF-8 decode" does (§9.2.5: "Streams must be decoded using the UTF-8
// decode algorithm"): each maximal invalid subsequence becomes one U+FFFD.
// The pieces a Decoder decodes are separated in the stream by ASCII bytes,
// which never belong to a multi-byte sequence, so decoding them one by one
// equals decoding the whole stream first.
func decodeUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			n = invalidPrefix(b)
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return string(out)
}

// invalidPrefix returns the length of the maximal subpart at the start of
// b, which does not start with a valid UTF-8 sequence: the bytes the
// Encoding standard's UTF-8 decoder consumes before it returns an error.
func invalidPrefix(b []byte) int {
	need := 0
	lo, hi := byte(0x80), byte(0xBF)
	switch c := b[0]; {
	case 0xC2 <= c && c <= 0xDF:
		need = 1
	case 0xE0 <= c && c <= 0xEF:
		need = 2
		if c == 0xE0 {
			lo = 0xA0
		} else if c == 0xED {
			hi = 0x9F
		}
	case 0xF0 <= c && c <= 0xF4:
		need = 3
		if c == 0xF0 {
			lo = 0x90
		} else if c == 0xF4 {
			hi = 0x8F
		}
	default:
		return 1
	}
	n := 1
	for n <= need && n < len(b) {
		if b[n] < lo || b[n] > hi {
			return n
		}
		lo, hi = 0x80, 0xBF
		n++
	}
	return n
}
