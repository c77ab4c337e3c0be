package hub

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

// refLog is the reference model of a topic: every entry ever published in
// a plain slice, and the index of the oldest one still held. It trims by
// appending first and then dropping from the front while over a limit, a
// different formulation from the ring's "make room, then append".
type refLog struct {
	maxEntries, maxBytes int
	policy               Policy
	queueLen             int

	all    []refEntry // all[i] is the entry with Seq i+1
	first  int        // all[first] is the oldest held; first is also the number dropped
	bytes  int        // size of the held entries
	closed bool
}

type refEntry struct {
	typ  string
	size int
}

func (m *refLog) head() Seq { return Seq(len(m.all)) }

func (m *refLog) publish(typ string, size int) (Seq, error) {
	if len(typ)+size > m.maxBytes {
		return 0, ErrTooLarge
	}
	if m.closed {
		return 0, ErrClosed
	}
	m.all = append(m.all, refEntry{typ, size})
	m.bytes += len(typ) + size
	for len(m.all)-m.first > m.maxEntries || m.bytes > m.maxBytes {
		m.bytes -= len(m.all[m.first].typ) + m.all[m.first].size
		m.first++
	}
	return m.head(), nil
}

func (m *refLog) resolve(c Cursor) Seq {
	if s, ok := c.Seq(); ok {
		return s
	}
	if c == FromNow() {
		return m.head()
	}
	return Seq(m.first)
}

// read is ReadAfter on the model.
func (m *refLog) read(c Cursor, bufLen int) (got []Seq, next Cursor, err error) {
	after := m.resolve(c)
	switch {
	case after > m.head():
		return nil, After(Seq(m.first)), errReset
	case after < Seq(m.first):
		return nil, After(Seq(m.first)), GapError{After: after, Oldest: Seq(m.first + 1), Lost: uint64(Seq(m.first) - after)}
	case after == m.head() && m.closed:
		return nil, After(after), ErrClosed
	}
	for s := after + 1; s <= m.head() && len(got) < bufLen; s++ {
		got = append(got, s)
	}
	return got, After(after + Seq(len(got))), nil
}

// wait is Wait with a ctx that is already done.
func (m *refLog) wait(c Cursor) error {
	after := m.resolve(c)
	switch {
	case after > m.head():
		return nil
	case after < m.head():
		return nil
	case m.closed:
		return ErrClosed
	}
	return context.Canceled
}

// refSub is the model of a subscription.
type refSub struct {
	cursor  Cursor
	base    Seq
	dropped bool
	closed  bool
}

func (m *refLog) subscribe(c Cursor) *refSub {
	if c == FromNow() {
		c = After(m.head())
	}
	return &refSub{cursor: c, base: m.head()}
}

// next is Next with a ctx that is already done.
func (m *refLog) next(s *refSub) (Seq, error) {
	if s.closed {
		return 0, ErrClosed
	}
	if s.dropped {
		return 0, ErrSlowConsumer
	}
	after := m.resolve(s.cursor)
	s.cursor = After(after)
	if m.policy == Drop {
		from := max(after, s.base)
		if m.head() > from && int(m.head()-from) > m.queueLen {
			s.dropped = true
			return 0, ErrSlowConsumer
		}
	}
	switch {
	case after > m.head():
		s.cursor = After(Seq(m.first))
		return 0, errReset
	case after < Seq(m.first):
		s.cursor = After(Seq(m.first))
		return 0, GapError{After: after, Oldest: Seq(m.first + 1), Lost: uint64(Seq(m.first) - after)}
	case after < m.head():
		s.cursor = After(after + 1)
		return after + 1, nil
	case m.closed:
		return 0, ErrClosed
	}
	return 0, context.Canceled
}

// sameError reports whether got is the error the model expects: the same
// sentinel, or an equal GapError.
func sameError(got, want error) bool {
	var wantGap GapError
	if errors.As(want, &wantGap) {
		var gotGap GapError
		return errors.As(got, &gotGap) && gotGap == wantGap
	}
	return isErr(got, want)
}

// Fuzz input layout: three bytes of options, then operations, each an
// opcode byte and its argument bytes.
const (
	opPublish   = iota // size&63 payload bytes, type of size>>6 bytes
	opRead             // cursor, buffer length
	opWait             // cursor
	opSubscribe        // cursor
	opNext             // count-1 (mod 8); bit 3: TryNext after Notify instead of Next
	opClose            // 0: the topic, 1: the subscription, else nothing
	opBurst            // count (low 4 bits), size (high 4 bits)
	numOps
)

// fuzzCursor decodes a cursor byte relative to the model's head: FromNow,
// FromOldest, up to 63 behind the head, or up to 2 ahead of it.
func fuzzCursor(b byte, head Seq) Cursor {
	x := Seq(b >> 2)
	switch b & 3 {
	case 0:
		return FromNow()
	case 1:
		return FromOldest()
	case 2:
		return After(head - min(x, head))
	}
	return After(head + x%3)
}

// encodeCursor is the inverse of fuzzCursor for seeds.
func encodeCursor(c Cursor, head Seq) byte {
	switch {
	case c == FromNow():
		return 0
	case c == FromOldest():
		return 1
	}
	s, _ := c.Seq()
	if s <= head {
		return byte(min(head-s, 63))<<2 | 2
	}
	return byte(min(s-head, 2))<<2 | 3
}

// FuzzLog runs a random sequence of publishes, reads, waits and
// subscription reads against a Topic and against refLog, and compares every
// result: sequence numbers, entries, next cursors, gaps and errors.
func FuzzLog(f *testing.F) {
	// Seeds from the ReadAfter table.
	for _, tt := range readAfterTests {
		maxEntries := tt.opts.MaxEntries
		if maxEntries <= 0 || maxEntries > 16 {
			maxEntries = 16
		}
		maxBytes := tt.opts.MaxBytes
		if maxBytes <= 0 || maxBytes > 256 {
			maxBytes = 256
		}
		in := []byte{byte(maxEntries - 1), byte(maxBytes - 1), 0}
		for _, size := range tt.sizes {
			in = append(in, opPublish, byte(len(tt.typ))<<6|byte(size))
		}
		if tt.close {
			in = append(in, opClose, 0)
		}
		head := Seq(len(tt.sizes))
		in = append(in, opRead, encodeCursor(tt.cursor, head), byte(tt.buf))
		in = append(in, opSubscribe, encodeCursor(tt.cursor, head), opNext, 7)
		f.Add(in)
	}
	// Seeds for the slow-consumer policies and closing.
	f.Add([]byte{3, 255, 1 | 2<<1, opSubscribe, 0, opBurst, 0x16, opNext, 7, opBurst, 0x13, opNext, 7})
	f.Add([]byte{15, 40, 0, opSubscribe, 1, opBurst, 0xff, opNext, 2, opWait, 2, opBurst, 0x2f, opNext, 7, opRead, 2 | 20<<2, 5})
	f.Add([]byte{7, 255, 1, opBurst, 0x25, opSubscribe, 2 | 3<<2, opBurst, 0x14, opClose, 0, opNext, 7, opWait, 0, opPublish, 1})
	f.Add([]byte{7, 9, 0, opPublish, 200, opPublish, 10, opPublish, 9, opRead, 1, 4, opClose, 1, opNext, 0})
	// TryNext and Notify: a subscriber from now, from the oldest, and one
	// dropped by the Drop policy.
	f.Add([]byte{7, 255, 0, opSubscribe, 0, opNext, 8 | 1, opBurst, 0x13, opNext, 8 | 7, opClose, 0, opNext, 8 | 2})
	f.Add([]byte{3, 255, 1 | 2<<1, opBurst, 0x12, opSubscribe, 1, opBurst, 0x16, opNext, 8 | 7, opNext, 8})
	f.Add([]byte{3, 255, 0, opSubscribe, 3 | 2<<2, opNext, 8 | 3, opPublish, 5, opNext, 8 | 3, opClose, 1, opNext, 8})

	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 3 {
			return
		}
		m := &refLog{
			maxEntries: 1 + int(in[0]%16),
			maxBytes:   1 + int(in[1]),
			policy:     Policy(in[2] & 1),
			queueLen:   1 + int((in[2]>>1)%8),
		}
		tp := NewTopic(&TopicOptions{MaxEntries: m.maxEntries, MaxBytes: m.maxBytes, Policy: m.policy, QueueLen: m.queueLen})
		ctx := context.Background()
		done, cancel := context.WithCancel(ctx)
		cancel()
		var sub Subscription
		var msub *refSub
		var notified atomic.Int32 // notifications delivered; they may come at any time

		arg := func(i *int) byte {
			if *i >= len(in) {
				return 0
			}
			*i++
			return in[*i-1]
		}
		publish := func(typ string, size int) {
			want, wantErr := m.publish(typ, size)
			got, err := tp.Publish(ctx, typ, payload(m.head(), size))
			if got != want || !sameError(err, wantErr) {
				t.Fatalf("Publish(%q, %d bytes) = %d, %v, want %d, %v", typ, size, got, err, want, wantErr)
			}
		}
		checkEntry := func(op string, e Entry, seq Seq) {
			want := m.all[seq-1]
			if e.Seq != seq || e.Type != want.typ || !bytes.Equal(e.Data, payload(seq, want.size)) || e.Time.IsZero() {
				t.Fatalf("%s: entry = {%d %q %x %v}, want {%d %q %x non-zero time}",
					op, e.Seq, e.Type, e.Data, e.Time, seq, want.typ, payload(seq, want.size))
			}
		}

		for i := 3; i < len(in); {
			op := in[i] % numOps
			i++
			switch op {
			case opPublish:
				a := arg(&i)
				publish("tttt"[:a>>6], int(a&63))
			case opBurst:
				a := arg(&i)
				for range a & 15 {
					publish("", int(a>>4))
				}
			case opRead:
				c := fuzzCursor(arg(&i), m.head())
				buf := make([]Entry, arg(&i)%12)
				wantSeqs, wantNext, wantErr := m.read(c, len(buf))
				n, next, err := tp.ReadAfter(ctx, c, buf)
				if !sameError(err, wantErr) || seqString(next) != seqString(wantNext) || next.Epoch() != tp.Epoch() || n != len(wantSeqs) {
					t.Fatalf("ReadAfter(%q, %d) = %d, %q, %v, want %d, %q, %v", c, len(buf), n, next, err, len(wantSeqs), wantNext, wantErr)
				}
				for k, seq := range wantSeqs {
					checkEntry("ReadAfter", buf[k], seq)
				}
			case opWait:
				c := fuzzCursor(arg(&i), m.head())
				if err, want := tp.Wait(done, c), m.wait(c); !sameError(err, want) {
					t.Fatalf("Wait(%q) = %v, want %v", c, err, want)
				}
			case opSubscribe:
				c := fuzzCursor(arg(&i), m.head())
				sub, _ = tp.Subscribe(ctx, c)
				msub = m.subscribe(c)
			case opNext:
				a := arg(&i)
				count := 1 + int(a%8)
				if sub == nil {
					continue
				}
				// Bit 3: read with TryNext, and ask Notify first, as a
				// reader without a goroutine does (notify.go).
				try := a&8 != 0
				for range count {
					if try {
						peek := *msub
						_, peekErr := m.next(&peek)
						blocks := errors.Is(peekErr, context.Canceled)
						waiting, err := sub.(Notifier).Notify(ctx, func() { notified.Add(1) })
						if waiting != blocks || err != nil {
							t.Fatalf("Notify() = %v, %v, want %v, nil (the model's Next: %v)", waiting, err, blocks, peekErr)
						}
					}
					want, wantErr := m.next(msub)
					var e Entry
					var err error
					if try {
						var ok bool
						e, ok, err = sub.(Notifier).TryNext(done)
						if !ok {
							err = context.Canceled // the model's "would wait"
						}
					} else {
						e, err = sub.Next(done)
					}
					if !sameError(err, wantErr) {
						t.Fatalf("Next() (TryNext: %v) = %d, %v, want %d, %v", try, e.Seq, err, want, wantErr)
					}
					if wantErr == nil {
						checkEntry("Next", e, want)
					}
				}
			case opClose:
				switch arg(&i) {
				case 0:
					tp.Close()
					m.closed = true
				case 1:
					if sub != nil {
						sub.Close()
						msub.closed = true
					}
				}
			}
		}
	})
}
