package hub

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
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

// Epoch names one history of a topic's log. A log keeps its epoch for as
// long as its history continues: a restarted process that lost an
// in-memory log, or a shared stream that was deleted and created again,
// starts a new epoch, and a cursor from the old one is never read as if
// it named entries of the new one (see ResetError).
//
// An epoch is 1 to 32 bytes of ASCII letters, digits, '-' and '_', so that
// it can stand as is in a URL, an SSE id, a JSON string, a NATS subject
// token or a Redis key. The empty Epoch means "unknown": a cursor without
// one is checked against the log by its sequence number alone.
type Epoch string

// maxEpochLen bounds the length of an epoch.
const maxEpochLen = 32

// NewEpoch returns a fresh random epoch: 64 random bits in base 36, at most
// 13 bytes. Engines that keep no identity of their own call it when they
// create a log.
func NewEpoch() Epoch {
	return Epoch(strconv.FormatUint(rand.Uint64()|1<<63, 36))
}

// Valid reports whether e is a well-formed, non-empty epoch.
func (e Epoch) Valid() bool {
	if len(e) == 0 || len(e) > maxEpochLen {
		return false
	}
	for i := 0; i < len(e); i++ {
		if !epochByte(e[i]) {
			return false
		}
	}
	return true
}

func epochByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_'
}

// cursorKind says how a Cursor picks its position.
type cursorKind uint8

const (
	kindAfter  cursorKind = iota // after a given sequence number
	kindNow                      // after the last entry published so far
	kindOldest                   // before the oldest entry the log still holds
)

// Cursor is a position in a topic's log: a reader asks for the entries
// after it. A cursor is either a sequence number (After, or AfterIn with
// the log's epoch), or one of two symbolic positions that the log resolves
// to a sequence number when it is used: FromNow (after the last entry
// published so far) and FromOldest (before the oldest entry the log still
// holds).
//
// Every read returns the concrete cursor to continue from, carrying the
// log's epoch; pass that one to the next read or send it to the client. A
// cursor of another epoch, or one ahead of the log, is answered with a
// ResetError, never read as a position in the current history. The zero
// Cursor is After(0): every entry ever published, with a GapError if some
// are no longer held.
//
// Cursors are comparable with ==.
type Cursor struct {
	epoch Epoch
	seq   Seq
	kind  cursorKind
}

// After returns the cursor that reads the entries whose sequence number is
// greater than seq, in whatever epoch the log has: a bare sequence number,
// as clients from before epochs send. After(0) reads from the first entry
// ever published.
func After(seq Seq) Cursor {
	return Cursor{seq: seq}
}

// AfterIn returns the cursor that reads the entries after seq in the
// history named by epoch. A log whose epoch is not e answers it with a
// ResetError. AfterIn("", seq) is After(seq).
func AfterIn(e Epoch, seq Seq) Cursor {
	return Cursor{epoch: e, seq: seq}
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
// made by After or AfterIn (or returned by a read). For FromNow and
// FromOldest it returns 0, false.
func (c Cursor) Seq() (Seq, bool) {
	if c.kind != kindAfter {
		return 0, false
	}
	return c.seq, true
}

// Epoch returns the epoch of c: the one given to AfterIn, or the log's for
// a cursor returned by a read. It is "" for After, FromNow and FromOldest.
func (c Cursor) Epoch() Epoch {
	return c.epoch
}

// String returns the wire form of c, which ParseCursor accepts and maps
// back to c: "EPOCH:SEQ" for a cursor with an epoch, the sequence number
// alone for After, "" for FromNow and "oldest" for FromOldest. The
// sequence number is in decimal without sign or leading zeros.
func (c Cursor) String() string {
	switch c.kind {
	case kindNow:
		return ""
	case kindOldest:
		return "oldest"
	}
	if c.epoch == "" {
		return c.seq.String()
	}
	b, _ := c.AppendText(make([]byte, 0, len(c.epoch)+21))
	return string(b)
}

// AppendText appends the wire form of c (see String) to b, allocating
// nothing when b has room, and returns the extended buffer. It implements
// encoding.TextAppender and never fails.
func (c Cursor) AppendText(b []byte) ([]byte, error) {
	switch c.kind {
	case kindNow:
		return b, nil
	case kindOldest:
		return append(b, "oldest"...), nil
	}
	if c.epoch != "" {
		b = append(b, c.epoch...)
		b = append(b, ':')
	}
	return strconv.AppendUint(b, uint64(c.seq), 10), nil
}

// maxSeqLen is the length of the longest valid sequence number,
// "18446744073709551615" (2^64-1).
const maxSeqLen = 20

// ParseCursor parses the wire form of a cursor, as sent back by a client in
// a Last-Event-ID header, a query parameter or a WebSocket message:
//
//   - "" is FromNow: a client that has no cursor yet sees new entries only;
//   - "oldest" is FromOldest;
//   - "EPOCH:N", an epoch (see Epoch), a colon and a sequence number, is
//     AfterIn(EPOCH, N): what every read returns and every transport sends;
//   - a sequence number N alone is After(N), accepted from clients that
//     keep a bare number.
//
// A sequence number is in canonical decimal: ASCII digits, no sign, no
// leading zero unless it is 0, at most 2^64-1. Anything else is rejected
// with an error wrapping ErrInvalidCursor, so that exactly one string
// names each cursor and Cursor.String round-trips. A well-formed cursor
// may still be from another epoch or ahead of the log (ResetError), or
// older than it (GapError); the log reports that when the cursor is used.
func ParseCursor(s string) (Cursor, error) {
	switch s {
	case "":
		return FromNow(), nil
	case "oldest":
		return FromOldest(), nil
	}
	if len(s) > maxEpochLen+1+maxSeqLen {
		return Cursor{}, fmt.Errorf("%w: %d bytes, longer than any cursor", ErrInvalidCursor, len(s))
	}
	var e Epoch
	num := s
	if i := strings.IndexByte(s, ':'); i >= 0 {
		e, num = Epoch(s[:i]), s[i+1:]
		if !e.Valid() {
			return Cursor{}, fmt.Errorf("%w: %q: malformed epoch", ErrInvalidCursor, s)
		}
	}
	seq, err := parseSeq(num)
	if err != nil {
		return Cursor{}, fmt.Errorf("%w: %q: %s", ErrInvalidCursor, s, err)
	}
	return AfterIn(e, seq), nil
}

// errSeqSyntax is parseSeq's failure; its text goes into ParseCursor's error.
type errSeqSyntax string

func (e errSeqSyntax) Error() string { return string(e) }

// parseSeq parses a sequence number in canonical decimal.
func parseSeq(s string) (Seq, error) {
	if len(s) == 0 {
		return 0, errSeqSyntax("no sequence number")
	}
	if len(s) > maxSeqLen {
		return 0, errSeqSyntax("sequence number too long")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errSeqSyntax(fmt.Sprintf("byte %d is not a decimal digit", i))
		}
	}
	if s[0] == '0' && len(s) > 1 {
		return 0, errSeqSyntax("leading zero")
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		// Only digits are left, so the one possible failure is a value
		// above 2^64-1.
		return 0, errSeqSyntax("out of range")
	}
	return Seq(n), nil
}
