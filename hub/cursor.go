package hub

import (
	"fmt"
	"strconv"
)

// Seq is the sequence number of an entry in a topic's log. The first entry
// published to a topic is 1, each later one is one more than the previous,
// and a number is never reused within the life of the topic. Seq 0 names
// the position before the first entry.
type Seq uint64

// String returns s in decimal, the form transports put on the wire (an SSE
// "id:" field, a long-poll cursor). To avoid the allocation on a hot path
// use strconv.AppendUint(dst, uint64(s), 10), which writes the same bytes.
func (s Seq) String() string {
	return strconv.FormatUint(uint64(s), 10)
}

// cursorKind says how a Cursor picks its position.
type cursorKind uint8

const (
	kindAfter  cursorKind = iota // after a given sequence number
	kindNow                      // after the last entry published so far
	kindOldest                   // before the oldest entry the log still holds
)

// Cursor is a position in a topic's log: a reader asks for the entries
// after it. A cursor is either a sequence number (After), or one of two
// symbolic positions that the log resolves to a sequence number when it is
// used: FromNow (after the last entry published so far) and FromOldest
// (before the oldest entry the log still holds).
//
// Every read returns the concrete cursor to continue from; pass that one to
// the next read or send it to the client. The zero Cursor is After(0): every
// entry ever published, with a GapError if some are no longer held.
//
// Cursors are comparable with ==.
type Cursor struct {
	seq  Seq
	kind cursorKind
}

// After returns the cursor that reads the entries whose sequence number is
// greater than seq. After(0) reads from the first entry ever published.
func After(seq Seq) Cursor {
	return Cursor{seq: seq}
}

// FromNow returns the cursor that reads only entries published after the
// moment it is resolved: when it is passed to ReadAfter or Wait, or when a
// subscription is created with it. Its wire form is the empty string.
func FromNow() Cursor {
	return Cursor{kind: kindNow}
}

// FromOldest returns the cursor that reads from the oldest entry the log
// still holds when the cursor is resolved. It never produces a GapError by
// itself. Its wire form is "oldest".
func FromOldest() Cursor {
	return Cursor{kind: kindOldest}
}

// Seq returns the sequence number after which c reads, and true, if c was
// made by After (or returned by a read). For FromNow and FromOldest it
// returns 0, false.
func (c Cursor) Seq() (Seq, bool) {
	if c.kind != kindAfter {
		return 0, false
	}
	return c.seq, true
}

// String returns the wire form of c, which ParseCursor accepts and maps
// back to c: the sequence number in decimal without sign or leading zeros
// for After, "" for FromNow and "oldest" for FromOldest.
func (c Cursor) String() string {
	switch c.kind {
	case kindNow:
		return ""
	case kindOldest:
		return "oldest"
	}
	return c.seq.String()
}

// maxCursorLen is the length of the longest valid cursor string,
// "18446744073709551615" (2^64-1).
const maxCursorLen = 20

// ParseCursor parses the wire form of a cursor, as sent back by a client in
// a Last-Event-ID header, a query parameter or a WebSocket message:
//
//   - "" is FromNow: a client that has no cursor yet sees new entries only;
//   - "oldest" is FromOldest;
//   - a decimal number n in canonical form (ASCII digits, no sign, no
//     leading zero unless n is 0, at most 2^64-1) is After(n).
//
// Anything else is rejected with an error wrapping ErrInvalidCursor, so
// that exactly one string names each cursor and Cursor.String round-trips.
// A well-formed cursor may still be ahead of the log (ErrCursorAhead) or
// older than it (GapError); the log reports that when the cursor is used.
func ParseCursor(s string) (Cursor, error) {
	switch s {
	case "":
		return FromNow(), nil
	case "oldest":
		return FromOldest(), nil
	}
	if len(s) > maxCursorLen {
		return Cursor{}, fmt.Errorf("%w: %d bytes, longer than any sequence number", ErrInvalidCursor, len(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return Cursor{}, fmt.Errorf("%w: %q: byte %d is not a decimal digit", ErrInvalidCursor, s, i)
		}
	}
	if s[0] == '0' && len(s) > 1 {
		return Cursor{}, fmt.Errorf("%w: %q: leading zero", ErrInvalidCursor, s)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		// Only digits are left, so the one possible failure is a value
		// above 2^64-1.
		return Cursor{}, fmt.Errorf("%w: %q: out of range", ErrInvalidCursor, s)
	}
	return After(Seq(n)), nil
}
