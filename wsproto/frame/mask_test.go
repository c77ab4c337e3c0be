package frame

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// maskRef is RFC 6455 §5.3 transcribed: "j = i MOD 4;
// transformed-octet-i = original-octet-i XOR masking-key-octet-j", with i
// counted from the start of the payload, pos bytes before b.
func maskRef(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)%4]
	}
	return (pos + len(b)) % 4
}

// testPayload returns n bytes that differ from one another in every 256.
func testPayload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

func TestMaskExamples(t *testing.T) {
	// RFC 6455 §5.7: "A single-frame masked text message" carries "Hello"
	// as 7f 9f 4d 51 58 with the masking key 37 fa 21 3d.
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b := []byte("Hello")
	want := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}
	if next := Mask(key, 0, b); !bytes.Equal(b, want) || next != 1 {
		t.Errorf("Mask(%x, 0, %q) = %d, %x; want 1, %x", key, "Hello", next, b, want)
	}
	if next := Mask(key, 0, b); string(b) != "Hello" || next != 1 {
		t.Errorf("Mask(%x, 0, %x) = %d, %q; want 1, %q", key, want, next, b, "Hello")
	}

	// From pos 2 the key starts at its third byte.
	b = []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	want = []byte{0x21, 0x3d, 0x37, 0xfa, 0x21, 0x3d, 0x37, 0xfa, 0x21, 0x3d}
	if next := Mask(key, 2, b); !bytes.Equal(b, want) || next != 0 {
		t.Errorf("Mask(%x, 2, 10 zeros) = %d, %x; want 0, %x", key, next, b, want)
	}
}

func TestMask(t *testing.T) {
	key := [4]byte{0x01, 0x80, 0x7f, 0xfe}
	for pos := 0; pos < 4; pos++ {
		for n := 0; n <= 300; n++ {
			// Mask a window inside a larger buffer, to catch writes
			// outside b.
			got := testPayload(n + 16)
			want := testPayload(n + 16)
			wantNext := maskRef(key, pos, want[8:8+n])
			if next := Mask(key, pos, got[8:8+n]); next != wantNext || !bytes.Equal(got, want) {
				t.Fatalf("Mask(%x, %d, %d bytes) = %d, %x; want %d, %x", key, pos, n, next, got, wantNext, want)
			}
		}
	}
}

func TestMaskPosModulo(t *testing.T) {
	// pos is a key offset modulo 4.
	key := [4]byte{1, 2, 3, 4}
	for _, pos := range []int{4, 5, 7, 1001, -1, -4} {
		got, want := testPayload(37), testPayload(37)
		ref := ((pos % 4) + 4) % 4
		wantNext := maskRef(key, ref, want)
		if next := Mask(key, pos, got); next != wantNext || !bytes.Equal(got, want) {
			t.Errorf("Mask(%x, %d, 37 bytes) = %d, %x; want %d, %x", key, pos, next, got, wantNext, want)
		}
	}
}

// checkMaskSplit masks data in pieces cut at splits, resuming each piece at
// the offset the last returned, and compares with maskRef over the whole.
func checkMaskSplit(t *testing.T, key [4]byte, pos int, data []byte, splits []int) {
	t.Helper()
	got := bytes.Clone(data)
	want := bytes.Clone(data)
	wantNext := maskRef(key, pos, want)
	next, start := pos, 0
	for _, s := range append(splits, len(data)) {
		next = Mask(key, next, got[start:s])
		start = s
	}
	if next != wantNext || !bytes.Equal(got, want) {
		t.Fatalf("Mask(%x, %d, %x) in pieces cut at %v = %d, %x; want %d, %x", key, pos, data, splits, next, got, wantNext, want)
	}
}

// randomSplits returns sorted cut points in [0, n].
func randomSplits(r *rand.Rand, n int) []int {
	var s []int
	for at := 0; n > 0; {
		at += r.IntN(min(n, 70) + 1)
		if at > n {
			break
		}
		s = append(s, at)
	}
	return s
}

func TestMaskChained(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		var key [4]byte
		for j := range key {
			key[j] = byte(r.Uint32())
		}
		data := testPayload(r.IntN(1000))
		splits := randomSplits(r, len(data))
		pos := r.IntN(4)
		t.Run(fmt.Sprintf("%d", i), func(t *testing.T) { checkMaskSplit(t, key, pos, data, splits) })
	}
}

func TestMaskAllocs(t *testing.T) {
	b := testPayload(1000)
	if n := testing.AllocsPerRun(100, func() { Mask(testKey, 1, b) }); n != 0 {
		t.Errorf("Mask: %v allocs per run, want 0", n)
	}
}

func FuzzMask(f *testing.F) {
	f.Add(uint32(0x37fa213d), uint8(0), []byte("Hello"), uint64(0))
	f.Add(uint32(0x0180fe7f), uint8(3), testPayload(300), uint64(12345))
	f.Add(uint32(0xffffffff), uint8(2), testPayload(33), uint64(1))
	f.Fuzz(func(t *testing.T, k uint32, pos uint8, data []byte, seed uint64) {
		key := [4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)}
		r := rand.New(rand.NewPCG(seed, uint64(len(data))))
		checkMaskSplit(t, key, int(pos%4), data, randomSplits(r, len(data)))
	})
}

var benchSizes = []int{16, 128, 1024, 16384, 1 << 20}

func BenchmarkMask(b *testing.B) {
	for _, n := range benchSizes {
		data := testPayload(n)
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				Mask(testKey, 1, data)
			}
		})
	}
}

// BenchmarkMaskRef is the byte-at-a-time reference, for comparison.
func BenchmarkMaskRef(b *testing.B) {
	for _, n := range benchSizes {
		data := testPayload(n)
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				maskRef(testKey, 1, data)
			}
		})
	}
}
