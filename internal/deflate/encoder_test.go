package deflate

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"unsafe"

	"github.com/pushwire/pushwire/internal/deflate/corpus"
)

// TestEncodeRFC7692 checks the encoder against the examples of RFC 7692
// §7.2.3 that a fast encoder reproduces byte for byte.
func TestEncodeRFC7692(t *testing.T) {
	var e Encoder
	// §7.2.3.1: "Hello" in one block with fixed codes.
	if got, want := e.AppendMessage(nil, []byte("Hello")), []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}; !bytes.Equal(got, want) {
		t.Errorf(`AppendMessage("Hello") = % x, want % x`, got, want)
	}
	// §7.2.3.2: with context takeover the second "Hello" is a
	// back-reference to the first. The RFC's bytes f2 00 11 00 00 code
	// length 5 differently (a length-4 code and a literal would be one
	// way); ours must be one match of length 5 at distance 5.
	second := e.AppendMessage(nil, []byte("Hello"))
	p := newPeer(15, true)
	p.hist = []byte("Hello")
	p.check(t, second, []byte("Hello"))
	if p.maxDist != 5 || len(second) > 5 {
		t.Errorf(`second "Hello" = % x (longest distance %d), want a back-reference of distance 5 in at most 5 bytes`, second, p.maxDist)
	}
	// An empty message is an empty stored block, its LEN and NLEN removed
	// with the sync flush's tail (§7.2.1): the single byte 0x00.
	if got := e.AppendMessage(nil, nil); !bytes.Equal(got, []byte{0x00}) {
		t.Errorf("AppendMessage(empty) = % x, want 00", got)
	}
}

// testMessages returns a sequence of messages that exercises block
// boundaries, runs, incompressible data and cross-message matches.
func testMessages(big bool) [][]byte {
	zeros := make([]byte, 100_000)
	abab := bytes.Repeat([]byte("ab"), 40_000)
	msgs := [][]byte{
		nil,
		{'x'},
		[]byte("Hello"),
		[]byte("Hello"),
		corpus.JSON(1024, 1),
		corpus.JSON(1024, 2),
		corpus.JSON(1024, 1), // repeats an earlier message
		corpus.Text(maxBlock-1, 3),
		corpus.Text(maxBlock, 4),
		corpus.Text(maxBlock+1, 5),
		corpus.Random(70_000, 6),
		zeros,
		abab,
		corpus.Binary(2*maxBlock+7, 7),
		{'y'},
		corpus.JSON(300, 8),
	}
	if big {
		msgs = append(msgs, corpus.JSON(3<<20, 9), corpus.Random(1<<20, 10))
	}
	return msgs
}

// TestEncodeRoundTrip compresses a sequence of messages at every window
// size, with and without context takeover, and inflates each with
// compress/flate and with the reference decoder, which also checks that
// no distance leaves the window.
func TestEncodeRoundTrip(t *testing.T) {
	msgs := testMessages(false)
	for bits := MinWindowBits; bits <= MaxWindowBits; bits++ {
		if raceEnabled && bits%3 != 0 {
			// The race detector slows the reference decoder twentyfold:
			// 9, 12 and 15 bits only (the run without it has them all).
			continue
		}
		for _, takeover := range []bool{true, false} {
			t.Run(fmt.Sprintf("bits=%d/takeover=%v", bits, takeover), func(t *testing.T) {
				e, err := NewEncoder(bits, !takeover)
				if err != nil {
					t.Fatal(err)
				}
				p := newPeer(bits, takeover)
				var dst []byte
				for i, m := range msgs {
					dst = e.AppendMessage(dst[:0], m)
					p.check(t, dst, m)
					if len(dst) > MaxEncodedLen(len(m)) {
						t.Fatalf("message %d: %d bytes compress to %d, MaxEncodedLen %d", i, len(m), len(dst), MaxEncodedLen(len(m)))
					}
					if !e.Idle() {
						t.Fatalf("message %d: Encoder not idle after AppendMessage", i)
					}
				}
				if p.maxDist > 1<<bits {
					t.Fatalf("longest distance %d, window %d", p.maxDist, 1<<bits)
				}
				want := 0
				if takeover {
					want = 1 << bits
				}
				if got := e.IdleSize(); got != want {
					t.Errorf("IdleSize() = %d, want %d", got, want)
				}
			})
		}
	}
}

// TestEncodeHuge compresses messages of several MiB, which slide the
// window many times within one message.
func TestEncodeHuge(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skips multi-MiB messages")
	}
	var e Encoder
	var hist []byte
	for _, m := range testMessages(true)[16:] {
		out := e.AppendMessage(nil, m)
		got, err := stdInflate(hist, out)
		if err != nil || !bytes.Equal(got, m) {
			t.Fatalf("%d-byte message: inflates to %d bytes, %v", len(m), len(got), err)
		}
		hist = m[len(m)-1<<15:]
	}
}

// TestEncodeBaseWrap starts a message with the table positions near the
// point where they start over, so that the start over happens inside a
// message and between messages.
func TestEncodeBaseWrap(t *testing.T) {
	var e Encoder
	p := newPeer(15, true)
	// Each base is far above the positions of the message before, as
	// start keeps it; the second message crosses 2^31 and the fourth
	// message's start does.
	bases := []uint32{1<<31 - 450_000, 1<<31 - 200_000, 1<<31 - 50_000, 0}
	for i, m := range [][]byte{corpus.JSON(5000, 1), corpus.Text(300_000, 2), corpus.JSON(5000, 3), corpus.JSON(5000, 1)} {
		e.Append(nil, nil) // open the message
		if bases[i] != 0 {
			e.s.base = bases[i]
		}
		p.check(t, e.AppendMessage(nil, m), m)
	}
}

// TestEncodePooledIsolation checks that what other Encoders left in the
// pooled scratch space never shows in a connection's output: the same
// messages compress to the same bytes whatever ran before.
func TestEncodePooledIsolation(t *testing.T) {
	msgs := [][]byte{corpus.JSON(3000, 1), corpus.JSON(500, 2), corpus.Text(70_000, 3), corpus.JSON(3000, 1)}
	run := func() [][]byte {
		var e Encoder
		var outs [][]byte
		for _, m := range msgs {
			outs = append(outs, e.AppendMessage(nil, m))
		}
		return outs
	}
	want := run()
	for i := range 3 {
		// Other connections' messages, some sharing text with ours.
		var other Encoder
		other.AppendMessage(nil, corpus.Random(100_000, uint64(i)))
		other.AppendMessage(nil, bytes.Repeat(msgs[i%2], 3))
		other.Append(nil, corpus.Text(5000, 3))
		other.Abort()
		for j, got := range run() {
			if !bytes.Equal(got, want[j]) {
				t.Fatalf("round %d, message %d: output differs after other Encoders used the pool", i, j)
			}
		}
	}
}

// TestEncodeStreaming feeds messages in random pieces: the output is the
// same as for the whole message, since blocks end at fixed input offsets.
func TestEncodeStreaming(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	msgs := testMessages(false)
	var whole, pieces Encoder
	for i, m := range msgs {
		want := whole.AppendMessage(nil, m)
		var got []byte
		rest := m
		for len(rest) > 0 {
			var n int
			switch r.IntN(4) {
			case 0:
				n = 0
			case 1:
				n = 1
			case 2:
				n = r.IntN(100)
			default:
				n = r.IntN(100_000)
			}
			n = min(n, len(rest))
			got = pieces.Append(got, rest[:n])
			rest = rest[n:]
		}
		got = pieces.Finish(got)
		if !bytes.Equal(got, want) {
			t.Fatalf("message %d (%d bytes): in pieces % x..., whole % x...", i, len(m), head(got), head(want))
		}
	}
}

// TestEncodeOneByteWrites writes a message one byte at a time.
func TestEncodeOneByteWrites(t *testing.T) {
	m := corpus.JSON(maxBlock+1000, 1)
	var e Encoder
	var got []byte
	for i := range m {
		got = e.Append(got, m[i:i+1])
	}
	got = e.Finish(got)
	newPeer(15, true).check(t, got, m)
}

// TestEncodeFlush checks that Flush makes everything written so far
// inflatable, and that the message goes on after it.
func TestEncodeFlush(t *testing.T) {
	m := corpus.Text(100_000, 1)
	var e Encoder
	out := e.Append(nil, m[:40_000])
	out = e.Flush(out)
	if !bytes.HasSuffix(out, []byte{0x00, 0x00, 0xff, 0xff}) {
		t.Fatalf("Flush output ends with % x, want 00 00 ff ff", out[max(0, len(out)-4):])
	}
	// A sync flush ends a DEFLATE stream prefix at a byte boundary.
	part, err := stdInflate(nil, out[:len(out)-4])
	if err != nil || !bytes.Equal(part, m[:40_000]) {
		t.Fatalf("after Flush: inflates to %d bytes (%v), want the first 40000", len(part), err)
	}
	out = e.Flush(out) // nothing pending: only a marker
	out = e.Append(out, m[40_000:])
	out = e.Finish(out)
	p := newPeer(15, true)
	p.check(t, out, m)
	// The next message refers to this one.
	p.check(t, e.AppendMessage(nil, m[:5000]), m[:5000])
}

// TestEncodeStored checks that incompressible data costs at most 5 bytes
// per stored block of 65535 bytes, plus the one byte that ends the
// message (RFC 1951 §3.2.4, RFC 7692 §7.2.1).
func TestEncodeStored(t *testing.T) {
	for _, n := range []int{1, 100, 1000, 65535, 65536, 200_000, 1 << 20} {
		m := corpus.Random(n, uint64(n))
		var e Encoder
		out := e.AppendMessage(nil, m)
		blocks := (n + maxStored - 1) / maxStored
		if limit := n + 5*blocks + 1; len(out) > limit {
			t.Errorf("%d random bytes compress to %d bytes, want at most %d", n, len(out), limit)
		}
		if n >= 1000 && out[0]&0x7 != 0 {
			t.Errorf("%d random bytes: first block header %03b, want a stored block", n, out[0]&7)
		}
		newPeer(15, true).check(t, out, m)
	}
}

// TestTrimSyncTail checks the helper on payloads with and without the
// tail.
func TestTrimSyncTail(t *testing.T) {
	for _, tc := range []struct {
		in, want []byte
		ok       bool
	}{
		{[]byte{0xf2, 0x48, 0x00, 0x00, 0x00, 0xff, 0xff}, []byte{0xf2, 0x48, 0x00}, true},
		{[]byte{0x00, 0x00, 0xff, 0xff}, []byte{}, true},
		{[]byte{0x00, 0xff, 0xff}, []byte{0x00, 0xff, 0xff}, false},
		{[]byte{0x01, 0x00, 0xff, 0xff}, []byte{0x01, 0x00, 0xff, 0xff}, false},
		{nil, nil, false},
	} {
		got, ok := TrimSyncTail(tc.in)
		if ok != tc.ok || !bytes.Equal(got, tc.want) {
			t.Errorf("TrimSyncTail(% x) = % x, %v; want % x, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestEncodeRuns checks long runs, which become chains of 258-byte
// matches.
func TestEncodeRuns(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    []byte
		max  int // most compressed bytes
	}{
		{"1MiB-zeros", make([]byte, 1<<20), 2500},
		{"258-zeros", make([]byte, 258), 10},
		{"259-zeros", make([]byte, 259), 10},
		{"261-zeros", make([]byte, 261), 10},
		{"abc-run", bytes.Repeat([]byte("abc"), 100_000), 1500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e Encoder
			out := e.AppendMessage(nil, tc.m)
			if len(out) > tc.max {
				t.Errorf("%d bytes compress to %d, want at most %d", len(tc.m), len(out), tc.max)
			}
			newPeer(15, true).check(t, out, tc.m)
		})
	}
}

// TestEncodeWindowLimit repeats data at distances just inside and just
// outside each window: the encoder uses the first and never the second.
func TestEncodeWindowLimit(t *testing.T) {
	for bits := MinWindowBits; bits <= MaxWindowBits; bits++ {
		w := 1 << bits
		chunk := corpus.Random(100, uint64(bits))
		filler := corpus.Text(w+1, uint64(bits))
		for _, gap := range []int{w, w + 1} {
			// chunk, gap-100 bytes of text, chunk: the copy is gap bytes
			// after the original. The peer's check fails on any distance
			// beyond the window.
			m := append(append(append([]byte(nil), chunk...), filler[:gap-100]...), chunk...)
			e, _ := NewEncoder(bits, true)
			p := newPeer(bits, false)
			p.check(t, e.AppendMessage(nil, m), m)
			if gap == w && p.maxDist != w {
				t.Errorf("bits %d: a copy %d bytes back was not found (longest distance %d)", bits, gap, p.maxDist)
			}
		}
	}
}

// TestEncodeTakeover checks that context takeover is used: a message that
// repeats the previous one compresses to a few bytes, and to the same
// bytes as the first without takeover.
func TestEncodeTakeover(t *testing.T) {
	m := corpus.JSON(4000, 1)
	for _, takeover := range []bool{true, false} {
		e, _ := NewEncoder(15, !takeover)
		first := e.AppendMessage(nil, m)
		second := e.AppendMessage(nil, m)
		if takeover && len(second) > 60 {
			t.Errorf("takeover: a repeated %d-byte message compresses to %d bytes", len(m), len(second))
		}
		if !takeover && !bytes.Equal(first, second) {
			t.Errorf("no takeover: the same message compresses differently")
		}
	}
}

// TestEncodeAbort checks that an aborted message leaves the history as it
// was, so the next message compresses against what the peer has.
func TestEncodeAbort(t *testing.T) {
	a, b := corpus.JSON(3000, 1), corpus.Text(50_000, 2)
	var e Encoder
	p := newPeer(15, true)
	p.check(t, e.AppendMessage(nil, a), a)
	e.Append(nil, b)
	e.Abort()
	if !e.Idle() {
		t.Fatal("Encoder not idle after Abort")
	}
	p.check(t, e.AppendMessage(nil, a), a)
	e.Abort() // no open message: nothing happens
	p.check(t, e.AppendMessage(nil, b[:1000]), b[:1000])
}

// TestEncoderReset checks Reset's validation and that it drops the
// history.
func TestEncoderReset(t *testing.T) {
	for _, bits := range []int{-1, 0, 7, 16, 24} {
		if _, err := NewEncoder(bits, false); !errors.Is(err, ErrWindowBits) {
			t.Errorf("NewEncoder(%d) error = %v, want ErrWindowBits", bits, err)
		}
	}
	e, _ := NewEncoder(10, false)
	m := corpus.JSON(2000, 1)
	e.AppendMessage(nil, m)
	if err := e.Reset(16, false); !errors.Is(err, ErrWindowBits) || e.WindowBits() != 10 || e.IdleSize() != 1<<10 {
		t.Fatalf("Reset(16) = %v, window bits %d, idle size %d; want ErrWindowBits and no change", err, e.WindowBits(), e.IdleSize())
	}
	if err := e.Reset(12, false); err != nil || e.WindowBits() != 12 {
		t.Fatalf("Reset(12) = %v, window bits %d", err, e.WindowBits())
	}
	newPeer(12, false).check(t, e.AppendMessage(nil, m), m)
	var zero Encoder
	if zero.WindowBits() != 15 {
		t.Errorf("zero Encoder: WindowBits() = %d, want 15", zero.WindowBits())
	}
}

// TestEncodeAllocs checks that compressing a message allocates nothing
// once the history exists and the destination is large enough.
func TestEncodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	msgs := [][]byte{corpus.JSON(1024, 1), corpus.JSON(1024, 2), corpus.Text(64<<10, 3)}
	for _, takeover := range []bool{true, false} {
		e, _ := NewEncoder(15, !takeover)
		dst := make([]byte, 0, 128<<10)
		i := 0
		dst = e.AppendMessage(dst[:0], msgs[0])
		if n := testing.AllocsPerRun(100, func() {
			dst = e.AppendMessage(dst[:0], msgs[i%len(msgs)])
			i++
		}); n != 0 {
			t.Errorf("takeover %v: AppendMessage allocates %.1f times per message", takeover, n)
		}
		if n := testing.AllocsPerRun(100, func() {
			m := msgs[i%len(msgs)]
			dst = e.Append(dst[:0], m[:len(m)/2])
			dst = e.Append(dst, m[len(m)/2:])
			dst = e.Finish(dst)
			i++
		}); n != 0 {
			t.Errorf("takeover %v: Append, Append, Finish allocate %.1f times per message", takeover, n)
		}
	}
}

// TestEncoderIdleMemory measures the heap that idle Encoders hold after
// one message, at every window size: the history with context takeover,
// nothing else. Each figure is the least of three measurements of 200
// Encoders: what else the process allocates between two readings of the
// heap (under the race detector with -shuffle, 50 Encoders once read 11
// bytes over the bound each) only ever adds to one.
func TestEncoderIdleMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skips the memory measurement")
	}
	const n, tries = 200, 3
	m := corpus.JSON(2000, 1)
	var dst []byte
	for bits := MinWindowBits; bits <= MaxWindowBits; bits++ {
		for _, takeover := range []bool{true, false} {
			per := math.Inf(1)
			for range tries {
				encs := make([]*Encoder, n)
				before := heapInUse()
				for i := range encs {
					encs[i], _ = NewEncoder(bits, !takeover)
					dst = encs[i].AppendMessage(dst[:0], m)
				}
				per = min(per, float64(heapInUse()-before)/n)
				runtime.KeepAlive(encs)
			}
			want := float64(encoderStructSize)
			if takeover {
				want += float64(int(1) << bits)
			}
			t.Logf("bits %2d takeover %-5v: %7.0f bytes per idle Encoder (struct %d + history %d)", bits, takeover, per, encoderStructSize, int(want)-encoderStructSize)
			if per > want+128 {
				t.Errorf("bits %d takeover %v: %.0f bytes per idle Encoder, want at most %.0f", bits, takeover, per, want+128)
			}
		}
	}
}

const encoderStructSize = int(unsafe.Sizeof(Encoder{}))

// heapInUse returns the live heap after a full collection.
func heapInUse() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestFixedStepBits checks the two ways writeBlock sizes a block in the
// fixed codes, from the LZ77 steps (blocks of few symbols) and from the
// symbol frequencies, against each other on blocks of every kind; an
// undercount would leave writeCodes without room.
func TestFixedStepBits(t *testing.T) {
	msgs := append(testMessages(false), []byte("Hello"), []byte("Hello, Hello"), bytes.Repeat([]byte{'a'}, 600))
	few := 0
	for _, takeover := range []bool{true, false} {
		e, _ := NewEncoder(MaxWindowBits, !takeover)
		for i, m := range msgs {
			for len(m) > 0 {
				k := min(len(m), maxBlock-1) // a full block Append would compress
				e.Append(nil, m[:k])
				s := e.s
				e.steps()
				blk := s.buf[s.pend:s.end]
				if got, want := s.fixedStepBits(blk), s.fixedFreqBits(); got != want {
					t.Fatalf("message %d: fixed codes from the steps %d bits, from the frequencies %d", i, got, want)
				}
				if s.nsym <= fewSymbols {
					few++
				}
				e.Abort()
				m = m[k:]
			}
			e.AppendMessage(nil, msgs[i]) // the history for the next one
		}
	}
	if few == 0 {
		t.Error("no block had few symbols")
	}
}
