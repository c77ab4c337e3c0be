package deflate

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"testing"

	"github.com/pushwire/pushwire/internal/deflate/corpus"
)

// fuzzScript turns fuzz input into a run of the encoder: the first bytes
// choose the window and the mode, the rest is cut into messages at 0xff
// bytes, and each message's bytes also choose where it is split into
// Append calls and where Flush is called.
type fuzzScript struct {
	bits     int
	takeover bool
	msgs     [][]byte
	splits   []byte // drives the splitting, cyclically
}

func parseScript(data []byte) fuzzScript {
	var s fuzzScript
	if len(data) < 2 {
		return fuzzScript{bits: 15, takeover: true, msgs: [][]byte{data}, splits: []byte{0}}
	}
	s.bits = MinWindowBits + int(data[0]%8)
	s.takeover = data[0]&8 == 0
	// A message may be repeated, amplified to cross block boundaries.
	amplify := 1 + int(data[1]%4)*int(data[1]%4)*500
	s.splits = data[:2]
	budget := 100_000 // bytes of amplified messages in all, to keep a run short
	for _, m := range bytes.Split(data[2:], []byte{0xff}) {
		if len(m) > 1 && m[0] == 0xfe && budget > 0 {
			// A message longer than a block, but not much.
			m = bytes.Repeat(m[1:], max(1, min(amplify, 70_000/(len(m)-1), budget/(len(m)-1))))
			budget -= len(m)
		}
		s.msgs = append(s.msgs, m)
	}
	return s
}

// run compresses the messages, cutting them into pieces and flushing as
// the script says, and checks every message with compress/flate, with the
// window-checking reference decoder and with Decoder.
func (s fuzzScript) run(t *testing.T) {
	e, err := NewEncoder(s.bits, !s.takeover)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := NewDecoder(s.bits, !s.takeover)
	p := newPeer(s.bits, s.takeover)
	k := 0
	next := func() int {
		k++
		return int(s.splits[k%len(s.splits)])
	}
	for _, m := range s.msgs {
		var out []byte
		rest := m
		flushed, checks, flushes := 0, 0, 0 // message bytes before the last Flush; checks of it; Flush calls
		for len(rest) > 0 {
			n := min(len(rest), next()*next()%1000+1)
			out = e.Append(out, rest[:n])
			rest = rest[n:]
			if next()%7 == 0 && flushes < 8 {
				flushes++
				out = e.Flush(out)
				flushed = len(m) - len(rest)
				if checks++; checks > 2 {
					continue
				}
				// Everything before the Flush inflates now.
				var hist []byte
				if s.takeover {
					hist = p.hist
				}
				if got, err := stdInflate(hist, out[:len(out)-4]); err != nil || !bytes.Equal(got, m[:flushed]) {
					t.Fatalf("after Flush at %d: %d bytes, %v", flushed, len(got), err)
				}
			}
		}
		out = e.Finish(out)
		if checks == 0 && len(out) > MaxEncodedLen(len(m)) {
			t.Fatalf("%d bytes compress to %d, MaxEncodedLen %d", len(m), len(out), MaxEncodedLen(len(m)))
		}
		got, err := d.AppendMessage(nil, out, int64(len(m)))
		if err != nil || !bytes.Equal(got, m) {
			t.Fatalf("Decoder: %d bytes, %v; want %d bytes", len(got), err, len(m))
		}
		p.check(t, out, m)
	}
	if p.maxDist > 1<<s.bits {
		t.Fatalf("distance %d beyond the window of %d", p.maxDist, 1<<s.bits)
	}
}

// FuzzEncode is the differential fuzzer of the encoder: every message of a
// sequence, at every window size, with and without context takeover,
// written in random pieces with random Flush calls, must inflate to itself
// with compress/flate and with the reference decoder, which fails on any
// back-reference beyond the window.
func FuzzEncode(f *testing.F) {
	f.Add([]byte("\x07\x00Hello\xffHello\xff\xffHello, world"))
	f.Add([]byte("\x00\x03\xfeabcabcabd\xff\xfeabcabcabd"))
	f.Add([]byte("\x0f\x02x\xffy\xffxyxyxyxyxyxyxyxy"))
	f.Add(append([]byte{0x05, 0x01}, corpus.JSON(3000, 1)...))
	f.Add(append([]byte{0x0e, 0x02, 0xfe}, corpus.Binary(2000, 2)...))
	f.Add(append([]byte{0x07, 0x03, 0xfe}, corpus.Random(300, 3)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		parseScript(data).run(t)
	})
}

// FuzzDecode compares Decoder with compress/flate on arbitrary payloads,
// after a history and with a limit: the same bytes or an error from both,
// never more than the limit.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, []byte(nil), uint16(100))
	f.Add([]byte{0xf2, 0x00, 0x11, 0x00, 0x00}, []byte("Hello"), uint16(5))
	f.Add([]byte{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}, []byte(nil), uint16(4))
	f.Add([]byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}, []byte("x"), uint16(8))
	f.Add([]byte{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}, []byte(nil), uint16(5))
	var e Encoder
	f.Add(e.AppendMessage(nil, corpus.JSON(2000, 1)), []byte(nil), uint16(3000))
	f.Add(e.AppendMessage(nil, corpus.JSON(2000, 2)), corpus.JSON(2000, 1), uint16(3000))
	// compress/flate's blocks, whose codes differ from ours.
	for _, level := range []int{flate.HuffmanOnly, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression} {
		f.Add(stdDeflate(level, nil, corpus.Text(3000, 3)), []byte(nil), uint16(3000))
		f.Add(stdDeflate(level, corpus.Binary(1000, 4), corpus.Binary(1500, 5)), corpus.Binary(1000, 4), uint16(1500))
	}
	f.Fuzz(func(t *testing.T, payload, hist []byte, limit uint16) {
		if len(hist) > 1<<MaxWindowBits {
			hist = hist[len(hist)-1<<MaxWindowBits:]
		}
		// The window is the end of a stored message of filler followed by
		// hist as another, so that where the Decoder's ring of history
		// wraps depends on hist.
		var filler []byte
		if len(hist) > 0 {
			filler = corpus.Binary(1<<MaxWindowBits+len(hist)%4099, uint64(len(hist)))
		}
		dict := append(filler[:len(filler):len(filler)], hist...)
		dict = dict[max(0, len(dict)-1<<MaxWindowBits):]
		want, werr := stdInflate(dict, payload)
		var d Decoder
		fillWindow := func() {
			for _, m := range [][]byte{filler, hist} {
				if len(m) == 0 {
					continue
				}
				if _, err := d.AppendMessage(nil, storedMessage(m), -1); err != nil {
					t.Fatal(err)
				}
			}
		}
		fillWindow()
		got, err := d.AppendMessage(nil, payload, int64(limit))
		switch {
		case werr != nil:
			if err == nil {
				t.Fatalf("Decoder inflates %d bytes; compress/flate fails: %v", len(got), werr)
			}
			if int64(len(got)) > int64(limit) {
				t.Fatalf("Decoder returned %d bytes past the limit %d", len(got), limit)
			}
		case len(want) > int(limit):
			if !errors.Is(err, ErrLimit) || !bytes.Equal(got, want[:limit]) {
				t.Fatalf("%d bytes past a limit of %d: %d bytes, %v; want the first %d and ErrLimit", len(want), limit, len(got), err, limit)
			}
		default:
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Decoder: %d bytes, %v; compress/flate: %d bytes", len(got), err, len(want))
			}
			// The same through Begin and Read in small pieces.
			d.Reset(15, false)
			fillWindow()
			got, err := readMessage(&d, bytes.NewReader(payload), int64(limit))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Read: %d bytes, %v; compress/flate: %d bytes", len(got), err, len(want))
			}
		}
	})
}

// stdDeflate is m compressed by compress/flate at level after the
// dictionary dict, as a permessage-deflate payload.
func stdDeflate(level int, dict, m []byte) []byte {
	var buf bytes.Buffer
	fw, _ := flate.NewWriterDict(&buf, level, dict)
	fw.Write(m)
	fw.Flush()
	p, _ := TrimSyncTail(buf.Bytes())
	return p
}

// storedMessage is m as one permessage-deflate payload of stored blocks.
func storedMessage(m []byte) []byte {
	var out []byte
	for {
		n := min(len(m), maxStored)
		out = append(out, 0x00, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		out = append(out, m[:n]...)
		m = m[n:]
		if len(m) == 0 {
			return append(out, 0x00)
		}
	}
}

var _ io.Reader = (*Decoder)(nil)
