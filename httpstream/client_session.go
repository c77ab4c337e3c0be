package httpstream

import (
	"strconv"
	"strings"

	"github.com/pushwire/pushwire/hub"
)

// The records a Client receives and the cursor it keeps from them, the
// same on every transport.

// session is one connection of Run on one transport.
type session struct {
	c      *Client
	fn     func(hub.Entry) error
	opened bool
}

// open marks the connection open, once.
func (s *session) open() {
	if !s.opened {
		s.opened = true
		if f := s.c.opts.OnConnect; f != nil {
			f(s.c.Transport())
		}
	}
}

// record is one JSON record of the WebSocket and long-poll transports (see
// the package documentation).
type record struct {
	Seq    *uint64      `json:"seq"`
	Type   string       `json:"type"`
	Data   string       `json:"data"`
	Cursor *string      `json:"cursor"`
	Gap    *gapRecord   `json:"gap"`
	Reset  *resetRecord `json:"reset"`
	Error  *string      `json:"error"`
}

type gapRecord struct {
	After  uint64 `json:"after"`
	Oldest uint64 `json:"oldest"`
	Lost   uint64 `json:"lost"`
}

// resetRecord is the reset record of logs with epochs:
// {"reset":{"epoch":"p2m7","after":0},"cursor":"p2m7:0"}.
type resetRecord struct {
	Epoch string `json:"epoch"`
	After uint64 `json:"after"`
}

// handle acts on one record. It returns an errStop if fn failed.
func (s *session) handle(r *record) error {
	switch {
	case r.Seq != nil:
		return s.entry(*r.Seq, r.Type, r.Data, "")
	case r.Gap != nil:
		s.gap(*r.Gap, r.Cursor)
	case r.Reset != nil:
		s.reset(*r.Reset, r.Cursor)
	case r.Error != nil:
		// A WebSocket message the server refused; Send does not use the
		// WebSocket, so nothing of ours.
	case r.Cursor != nil:
		s.setCursor(*r.Cursor)
		s.open()
	}
	return nil
}

// entry delivers an entry after checking it against the cursor: an entry at
// or before the cursor's sequence number was delivered already (a transport
// may send it again after a reconnection) and is dropped. cursor, when not
// "", is the cursor after the entry as the transport gave it (the SSE id).
func (s *session) entry(seq uint64, typ, data, cursor string) error {
	s.open()
	s.c.mu.Lock()
	last, ok := cursorSeq(s.c.cursor)
	if ok && seq <= last {
		s.c.mu.Unlock()
		return nil
	}
	if cursor == "" {
		cursor = withSeq(s.c.cursor, seq)
	}
	s.c.cursor = cursor
	s.c.mu.Unlock()
	if err := s.fn(hub.Entry{Seq: hub.Seq(seq), Type: typ, Data: []byte(data)}); err != nil {
		return errStop{err}
	}
	return nil
}

func (s *session) gap(g gapRecord, cursor *string) {
	s.open()
	if cursor != nil {
		s.setCursor(*cursor)
	}
	if f := s.c.opts.OnGap; f != nil {
		f(hub.GapError{After: hub.Seq(g.After), Oldest: hub.Seq(g.Oldest), Lost: g.Lost})
	}
}

func (s *session) reset(r resetRecord, cursor *string) {
	s.open()
	from, _ := hub.ParseCursor(s.c.Cursor())
	next := hub.AfterIn(hub.Epoch(r.Epoch), hub.Seq(r.After)).String()
	if cursor != nil {
		next = *cursor
	}
	s.setCursor(next)
	if f := s.c.opts.OnReset; f != nil {
		f(hub.ResetError{From: from, Epoch: hub.Epoch(r.Epoch), After: hub.Seq(r.After)})
	}
}

func (s *session) setCursor(cur string) {
	s.c.mu.Lock()
	s.c.cursor = cur
	s.c.mu.Unlock()
}

// cursorSeqPart returns the sequence number part of a wire cursor: what
// follows the epoch and its colon, when there is one.
func cursorSeqPart(cur string) string {
	if i := strings.LastIndexByte(cur, ':'); i >= 0 {
		return cur[i+1:]
	}
	return cur
}

// cursorSeq returns the sequence number of a concrete cursor.
func cursorSeq(cur string) (uint64, bool) {
	n, err := strconv.ParseUint(cursorSeqPart(cur), 10, 64)
	return n, err == nil
}

// withSeq returns cur with its sequence number replaced by seq, keeping
// its epoch.
func withSeq(cur string, seq uint64) string {
	s := strconv.FormatUint(seq, 10)
	if i := strings.LastIndexByte(cur, ':'); i >= 0 {
		return cur[:i+1] + s
	}
	return s
}
