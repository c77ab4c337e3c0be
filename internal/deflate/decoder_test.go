package deflate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"testing/iotest"
	"unsafe"

	"github.com/pushwire/pushwire/internal/deflate/corpus"
)

// frames is an io.Reader over a message's payload in the pieces it
// arrived in, one piece per Read at most, like frames of a fragmented
// message.
type frames struct{ parts [][]byte }

func (f *frames) Read(p []byte) (int, error) {
	for len(f.parts) > 0 && len(f.parts[0]) == 0 {
		f.parts = f.parts[1:]
	}
	if len(f.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, f.parts[0])
	f.parts[0] = f.parts[0][n:]
	return n, nil
}

// readerKinds wrap a payload the ways a connection may deliver it.
var readerKinds = []struct {
	name string
	wrap func([]byte) io.Reader
}{
	{"whole", func(b []byte) io.Reader { return bytes.NewReader(b) }},
	{"one-byte", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
	{"half", func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) }},
	{"data-err", func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) }},
}

// readMessage reads one message with Begin and Read in reads of varying
// sizes.
func readMessage(d *Decoder, src io.Reader, limit int64) ([]byte, error) {
	d.Begin(src, limit)
	var out []byte
	buf := make([]byte, 4096)
	for i := 1; ; i++ {
		n, err := d.Read(buf[:i%len(buf)])
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// TestDecodeRFC7692 inflates the examples of RFC 7692 §7.2.3, byte for
// byte, with the payload delivered whole, in frames and in odd pieces.
func TestDecodeRFC7692(t *testing.T) {
	hello := []byte("Hello")
	cases := []struct {
		name   string
		frames [][]byte // the message's frame payloads
	}{
		// §7.2.3.1: "Hello" in one compressed block, one frame...
		{"7.2.3.1-one-frame", [][]byte{{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}}},
		// ...and fragmented in two frames.
		{"7.2.3.1-fragmented", [][]byte{{0xf2, 0x48, 0xcd}, {0xc9, 0xc9, 0x07, 0x00}}},
		// §7.2.3.3: a DEFLATE block with no compression.
		{"7.2.3.3-stored", [][]byte{{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}}},
		// §7.2.3.4: a block with BFINAL set, then a 0x00 the receiver
		// drops.
		{"7.2.3.4-bfinal", [][]byte{{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}}},
		// §7.2.3.5: two DEFLATE blocks in one message.
		{"7.2.3.5-two-blocks", [][]byte{{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}}},
	}
	for _, tc := range cases {
		for _, rk := range readerKinds {
			t.Run(tc.name+"/"+rk.name, func(t *testing.T) {
				var d Decoder
				payload := bytes.Join(tc.frames, nil)
				got, err := readMessage(&d, rk.wrap(payload), 1000)
				if err != nil || !bytes.Equal(got, hello) {
					t.Fatalf("Read: %q, %v; want %q", got, err, hello)
				}
				got, err = readMessage(&d, &frames{parts: append([][]byte(nil), tc.frames...)}, 1000)
				if err != nil || !bytes.Equal(got, hello) {
					t.Fatalf("Read in frames: %q, %v; want %q", got, err, hello)
				}
				got, err = d.AppendMessage(nil, payload, 1000)
				if err != nil || !bytes.Equal(got, hello) {
					t.Fatalf("AppendMessage: %q, %v; want %q", got, err, hello)
				}
				got, err = d.AppendFrom(nil, rk.wrap(payload), 1000)
				if err != nil || !bytes.Equal(got, hello) {
					t.Fatalf("AppendFrom: %q, %v; want %q", got, err, hello)
				}
			})
		}
	}
	// §7.2.3.2: the second message refers to the first through the
	// shared window.
	first, second := []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, []byte{0xf2, 0x00, 0x11, 0x00, 0x00}
	var d Decoder
	for i, p := range [][]byte{first, second} {
		if got, err := d.AppendMessage(nil, p, -1); err != nil || !bytes.Equal(got, hello) {
			t.Fatalf("7.2.3.2 message %d: %q, %v; want %q", i+1, got, err, hello)
		}
	}
	// Without context takeover the same second message has nothing to
	// refer to.
	nct, _ := NewDecoder(15, true)
	nct.AppendMessage(nil, first, -1)
	if _, err := nct.AppendMessage(nil, second, -1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("7.2.3.2 without context takeover: error %v, want ErrCorrupt", err)
	}
}

// TestDecodeRoundTrip inflates the encoder's output at every window size,
// reading some messages in small pieces and discarding others, which must
// still extend the window.
func TestDecodeRoundTrip(t *testing.T) {
	msgs := testMessages(false)
	if raceEnabled {
		// The race detector slows the inflater's loops twentyfold; the
		// run without it covers every message.
		msgs = msgs[:10]
	}
	r := rand.New(rand.NewPCG(5, 6))
	for bits := MinWindowBits; bits <= MaxWindowBits; bits++ {
		for _, takeover := range []bool{true, false} {
			t.Run(fmt.Sprintf("bits=%d/takeover=%v", bits, takeover), func(t *testing.T) {
				e, _ := NewEncoder(bits, !takeover)
				d, err := NewDecoder(bits, !takeover)
				if err != nil {
					t.Fatal(err)
				}
				var out []byte
				for i, m := range msgs {
					payload := e.AppendMessage(nil, m)
					switch i % 3 {
					case 0:
						out, err = d.AppendMessage(out[:0], payload, int64(len(m)))
					case 1:
						out, err = readMessage(d, iotest.HalfReader(bytes.NewReader(payload)), -1)
					default:
						d.Begin(&frames{parts: splitRandom(r, payload)}, int64(len(m)))
						err = d.Discard()
						out = m
					}
					if err != nil || !bytes.Equal(out, m) {
						t.Fatalf("message %d (%d bytes): inflates to %d bytes, %v", i, len(m), len(out), err)
					}
					if !d.Idle() {
						t.Fatalf("message %d: Decoder not idle after the message", i)
					}
				}
				want := 0
				if takeover {
					want = max(512, 1<<bits)
				}
				if got := d.IdleSize(); got != want {
					t.Errorf("IdleSize() = %d, want %d", got, want)
				}
			})
		}
	}
}

// splitRandom cuts b into random pieces.
func splitRandom(r *rand.Rand, b []byte) [][]byte {
	var parts [][]byte
	for len(b) > 0 {
		n := min(len(b), r.IntN(3000))
		parts = append(parts, b[:n])
		b = b[n:]
	}
	return parts
}

// TestDecodeLimit checks that a message may inflate to exactly the limit,
// and that one byte more gives ErrLimit after exactly limit bytes.
func TestDecodeLimit(t *testing.T) {
	m := corpus.JSON(100_000, 1)
	payload := new(Encoder).AppendMessage(nil, m)
	for _, tc := range []struct {
		limit int64
		ok    bool
	}{{-1, true}, {100_000, true}, {1 << 40, true}, {99_999, false}, {1, false}, {0, false}} {
		t.Run(fmt.Sprint(tc.limit), func(t *testing.T) {
			var d Decoder
			got, err := d.AppendMessage(nil, payload, tc.limit)
			if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, ErrLimit) {
				t.Fatalf("AppendMessage: error %v, want ok=%v or ErrLimit", err, tc.ok)
			}
			want := m
			if !tc.ok {
				want = m[:tc.limit]
				if int64(cap(got)) > tc.limit+512 {
					t.Errorf("AppendMessage grew dst to %d bytes for a limit of %d", cap(got), tc.limit)
				}
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("AppendMessage: %d bytes, want %d", len(got), len(want))
			}
			got, err = d.AppendFrom(nil, iotest.HalfReader(bytes.NewReader(payload)), tc.limit)
			if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, ErrLimit) || !bytes.Equal(got, want) {
				t.Fatalf("AppendFrom: %d bytes, %v; want %d bytes, ok=%v", len(got), err, len(want), tc.ok)
			}
			got, err = readMessage(&d, bytes.NewReader(payload), tc.limit)
			if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, ErrLimit) || !bytes.Equal(got, want) {
				t.Fatalf("Read: %d bytes, %v; want %d bytes, ok=%v", len(got), err, len(want), tc.ok)
			}
			if _, again := d.Read(make([]byte, 10)); again != err && !(err == nil && again == io.EOF) {
				t.Errorf("Read after the end: %v, want %v again", again, err)
			}
			d.BeginBytes(payload, tc.limit)
			got = got[:0]
			for buf := make([]byte, 333); ; {
				n, rerr := d.Read(buf)
				got = append(got, buf[:n]...)
				if rerr != nil {
					if rerr == io.EOF {
						rerr = nil
					}
					if tc.ok != (rerr == nil) || !tc.ok && !errors.Is(rerr, ErrLimit) || !bytes.Equal(got, want) {
						t.Fatalf("BeginBytes and Read: %d bytes, %v; want %d bytes, ok=%v", len(got), rerr, len(want), tc.ok)
					}
					break
				}
			}
			d.Begin(bytes.NewReader(payload), tc.limit)
			if err := d.Discard(); tc.ok != (err == nil) || !tc.ok && !errors.Is(err, ErrLimit) {
				t.Fatalf("Discard: %v, want ok=%v or ErrLimit", err, tc.ok)
			}
		})
	}
	// An empty message fits a limit of 0.
	var d Decoder
	if got, err := d.AppendMessage(nil, []byte{0x00}, 0); err != nil || len(got) != 0 {
		t.Errorf("empty message, limit 0: %q, %v", got, err)
	}
}

// TestDecodePending: once a first Read has decoded a message that fits
// the inflater's output buffer, Pending tells exactly how much is left and
// that it is the end; for a longer message it does not claim the end.
func TestDecodePending(t *testing.T) {
	var e Encoder
	var d Decoder
	for _, n := range []int{1, 1000, 20_000, 200_000} {
		m := corpus.JSON(n, uint64(n))
		d.BeginBytes(e.AppendMessage(nil, m), -1)
		if p, end := d.Pending(); p != 0 || end {
			t.Fatalf("%d bytes: Pending before Read = %d, %v; want 0, false", n, p, end)
		}
		var one [1]byte
		if k, err := d.Read(one[:]); k != 1 || err != nil {
			t.Fatalf("%d bytes: Read = %d, %v", n, k, err)
		}
		p, end := d.Pending()
		if short := n < 60_000; end != short || short && p != n-1 || !short && p >= n-1 {
			t.Fatalf("%d bytes: Pending after reading one = %d, %v", n, p, end)
		}
		if err := d.Discard(); err != nil {
			t.Fatal(err)
		}
		if p, end := d.Pending(); p != 0 || end {
			t.Fatalf("%d bytes: Pending with no message = %d, %v; want 0, false", n, p, end)
		}
	}
}

// TestDecodeBomb inflates a message that expands a thousandfold with a
// small limit: the memory allocated follows the limit, not the message.
func TestDecodeBomb(t *testing.T) {
	payload := new(Encoder).AppendMessage(nil, make([]byte, 8<<20))
	if len(payload) > 20_000 {
		t.Fatalf("8 MiB of zeros compress to %d bytes", len(payload))
	}
	const limit = 100_000
	var d Decoder
	// The least of a few runs: a run may also allocate the pooled
	// inflater (when the pool is empty on this P).
	least := uint64(1 << 62)
	for range 5 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got, err := d.AppendMessage(nil, payload, limit)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrLimit) || len(got) != limit {
			t.Fatalf("AppendMessage: %d bytes, %v; want %d bytes and ErrLimit", len(got), err, limit)
		}
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	// dst grows by doubling up to the limit: at most about 2.5 times it.
	if least > 3*limit {
		t.Errorf("AppendMessage allocated %d bytes for a limit of %d", least, limit)
	}
}

// TestDecodeCorrupt checks that data that does not inflate gives
// ErrCorrupt, again on the next Read, and that Reset recovers.
func TestDecodeCorrupt(t *testing.T) {
	for _, payload := range [][]byte{
		{0x06},                         // block type 3 (RFC 1951 §3.2.3: "reserved (error)")
		{0x00, 0x05, 0x00, 0x00, 0x00}, // stored block whose NLEN is not LEN's complement
		{0xf2, 0x48, 0xcd},             // cut short inside a block
		{0x04, 0xff, 0xff, 0xff, 0xff}, // dynamic block with an oversubscribed code
		{0x02, 0x10},                   // fixed block: a distance before the start of the output
	} {
		var d Decoder
		_, err := d.AppendMessage(nil, payload, -1)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("% x: error %v, want ErrCorrupt", payload, err)
		}
		if _, again := d.Read(make([]byte, 1)); again != err {
			t.Errorf("% x: Read after the error: %v, want %v again", payload, again, err)
		}
		d.Reset(15, false)
		if got, err := d.AppendMessage(nil, []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, -1); err != nil || string(got) != "Hello" {
			t.Errorf("% x: after Reset: %q, %v", payload, got, err)
		}
	}
}

// TestDecodeSourceError checks that an error of the source reaches the
// caller as it is.
func TestDecodeSourceError(t *testing.T) {
	boom := errors.New("connection reset")
	payload := new(Encoder).AppendMessage(nil, corpus.Text(10_000, 1))
	var d Decoder
	_, err := readMessage(&d, io.MultiReader(bytes.NewReader(payload[:100]), iotest.ErrReader(boom)), -1)
	if err != boom {
		t.Fatalf("error %v, want %v", err, boom)
	}
	// A source that never makes progress.
	_, err = readMessage(&d, iotest.ErrReader(nil), -1)
	if !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("source returning 0, nil: error %v, want io.ErrNoProgress", err)
	}
	if _, err := new(Decoder).Read(nil); err != ErrNoMessage {
		t.Fatalf("Read without Begin: %v, want ErrNoMessage", err)
	}
	if err := new(Decoder).Discard(); err != ErrNoMessage {
		t.Fatalf("Discard without Begin: %v, want ErrNoMessage", err)
	}
}

// TestDecodeWindow8 checks the 8-bit window: a peer on zlib compresses
// with 512 bytes when it agreed to 256, so the Decoder keeps 512.
func TestDecodeWindow8(t *testing.T) {
	e, _ := NewEncoder(9, false)
	d, _ := NewDecoder(8, false)
	block := corpus.Random(400, 1)
	for i := range 5 {
		// Each message repeats the last 400 bytes: distances up to 512.
		payload := e.AppendMessage(nil, block)
		got, err := d.AppendMessage(nil, payload, -1)
		if err != nil || !bytes.Equal(got, block) {
			t.Fatalf("message %d: %d bytes, %v", i, len(got), err)
		}
	}
	if d.IdleSize() != 512 {
		t.Errorf("IdleSize() = %d, want 512", d.IdleSize())
	}
}

// TestDecodeAbort checks that after an aborted message a later message
// that refers to the window fails instead of inflating wrongly.
func TestDecodeAbort(t *testing.T) {
	var e Encoder
	var d Decoder
	a := corpus.JSON(5000, 1)
	d.AppendMessage(nil, e.AppendMessage(nil, a), -1)
	d.Begin(bytes.NewReader(e.AppendMessage(nil, a)), -1)
	d.Read(make([]byte, 10))
	d.Abort()
	if _, err := d.AppendMessage(nil, e.AppendMessage(nil, a), -1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("after Abort: error %v, want ErrCorrupt", err)
	}
	// Begin with a message open aborts it too.
	d.Reset(15, false)
	d.AppendMessage(nil, e.AppendMessage(nil, nil), -1)
	d.Begin(bytes.NewReader([]byte{0xf2, 0x48}), -1)
	d.Begin(bytes.NewReader([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), -1)
	if got, err := io.ReadAll(&d); err != nil || string(got) != "Hello" {
		t.Fatalf("Begin over an open message: %q, %v", got, err)
	}
}

// TestDecoderReset checks Reset's validation.
func TestDecoderReset(t *testing.T) {
	for _, bits := range []int{-1, 0, 7, 16} {
		if _, err := NewDecoder(bits, false); !errors.Is(err, ErrWindowBits) {
			t.Errorf("NewDecoder(%d) error = %v, want ErrWindowBits", bits, err)
		}
	}
	d, _ := NewDecoder(10, false)
	d.AppendMessage(nil, new(Encoder).AppendMessage(nil, corpus.Text(3000, 1)), -1)
	if err := d.Reset(99, false); !errors.Is(err, ErrWindowBits) || d.IdleSize() != 1024 || d.WindowBits() != 10 {
		t.Errorf("Reset(99) = %v, idle size %d, window bits %d; want ErrWindowBits and no change", err, d.IdleSize(), d.WindowBits())
	}
	if bits := new(Decoder).WindowBits(); bits != 15 {
		t.Errorf("zero Decoder: window bits %d, want 15", bits)
	}
	if err := d.Reset(10, true); err != nil || d.IdleSize() != 0 {
		t.Errorf("Reset(10, true) = %v, idle size %d; want no window", err, d.IdleSize())
	}
}

// TestDecodeAllocs checks that inflating a message allocates nothing once
// the window exists and dst is large enough.
func TestDecodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	var e Encoder
	var payloads [][]byte
	for i := range 8 {
		payloads = append(payloads, e.AppendMessage(nil, corpus.JSON(1024+i*5000, uint64(i))))
	}
	var d Decoder
	dst := make([]byte, 0, 64<<10)
	buf := make([]byte, 4096)
	src := new(bytes.Reader)
	i := 0
	d.AppendMessage(dst, payloads[0], -1)
	if n := testing.AllocsPerRun(100, func() {
		dst, _ = d.AppendMessage(dst[:0], payloads[i%len(payloads)], 1<<20)
		i++
	}); n != 0 {
		t.Errorf("AppendMessage allocates %.1f times per message", n)
	}
	// A destination exactly as long as the message does not grow.
	m := corpus.JSON(3000, 9)
	exact := make([]byte, 0, len(m))
	if n := testing.AllocsPerRun(100, func() {
		var e Encoder
		got, err := d.AppendMessage(exact, e.AppendMessage(dst[:0], m), -1)
		if err != nil || cap(got) != len(m) {
			t.Fatalf("AppendMessage into an exact destination: %d bytes of %d, %v", len(got), cap(got), err)
		}
	}); n > 1 { // the Encoder's history
		t.Errorf("AppendMessage into an exact destination allocates %.1f times", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		src.Reset(payloads[i%len(payloads)])
		d.Begin(src, 1<<20)
		for {
			if _, err := d.Read(buf); err != nil {
				break
			}
		}
		i++
	}); n != 0 {
		t.Errorf("Begin and Read allocate %.1f times per message", n)
	}
}

// TestDecoderIdleMemory measures the heap idle Decoders hold after a
// message: the window with context takeover, nothing else. Each figure is
// the least of three measurements of 200 Decoders, as in
// TestEncoderIdleMemory.
func TestDecoderIdleMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skips the memory measurement")
	}
	const n, tries = 200, 3
	payload := new(Encoder).AppendMessage(nil, corpus.JSON(2000, 1))
	dst := make([]byte, 0, 4096)
	size := int(unsafe.Sizeof(Decoder{}))
	for bits := MinWindowBits; bits <= MaxWindowBits; bits++ {
		for _, takeover := range []bool{true, false} {
			per := math.Inf(1)
			for range tries {
				decs := make([]*Decoder, n)
				before := heapInUse()
				for i := range decs {
					decs[i], _ = NewDecoder(bits, !takeover)
					dst, _ = decs[i].AppendMessage(dst[:0], payload, -1)
				}
				per = min(per, float64(heapInUse()-before)/n)
				runtime.KeepAlive(decs)
			}
			want := size
			if takeover {
				want += max(512, 1<<bits)
			}
			t.Logf("bits %2d takeover %-5v: %7.0f bytes per idle Decoder (struct %d + window %d)", bits, takeover, per, size, want-size)
			if per > float64(want+128) {
				t.Errorf("bits %d takeover %v: %.0f bytes per idle Decoder, want at most %d", bits, takeover, per, want+128)
			}
		}
	}
}
