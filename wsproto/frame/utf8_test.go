package frame

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// validPrefix reports whether q is the beginning of some valid UTF-8: valid
// once completed with at most three continuation bytes. Trying 0x80 and 0xBF
// is enough, as every second-byte range of Table 3-7 contains one of them.
func validPrefix(q []byte) bool {
	for k := 0; k <= 3; k++ {
		for m := 0; m < 1<<k; m++ {
			c := bytes.Clone(q)
			for i := 0; i < k; i++ {
				if m>>i&1 == 0 {
					c = append(c, 0x80)
				} else {
					c = append(c, 0xBF)
				}
			}
			if utf8.Valid(c) {
				return true
			}
		}
	}
	return false
}

// failIndex returns the index of the first byte of p after which p cannot be
// completed into valid UTF-8, or -1 if there is none. Being a valid prefix is
// lost for good once lost, so a binary search finds it.
func failIndex(p []byte) int {
	k := sort.Search(len(p)+1, func(k int) bool { return !validPrefix(p[:k]) })
	if k > len(p) {
		return -1
	}
	return k - 1
}

// feedBytes writes p to a new validator one byte at a time and returns the
// index of the first Write that reported false (-1 if none) and Done at the
// end. It checks that failure is sticky.
func feedBytes(t *testing.T, p []byte) (fail int, done bool) {
	t.Helper()
	var v UTF8Validator
	fail = -1
	for i := range p {
		ok := v.Write(p[i : i+1])
		if fail >= 0 && ok {
			t.Fatalf("UTF8Validator.Write(%x) byte by byte: true at byte %d after false at byte %d", p, i, fail)
		}
		if !ok && fail < 0 {
			fail = i
		}
	}
	return fail, v.Done()
}

// feedChunks writes p to a new validator in pieces cut at splits and returns
// the result of the last Write and Done.
func feedChunks(p []byte, splits []int) (ok, done bool) {
	var v UTF8Validator
	ok = true
	start := 0
	for _, s := range append(splits, len(p)) {
		ok = v.Write(p[start:s])
		start = s
	}
	return ok, v.Done()
}

// everySplit calls f with every set of cut points of an n-byte input (2^(n-1)
// of them) when n is small, and otherwise with no cut and with the even
// chunkings into pieces of 1 to 4 bytes and of sizes around the validator's
// 8- and 16-byte steps.
func everySplit(n int, f func(splits []int)) {
	if n <= 12 {
		for m := 0; m < 1<<max(n-1, 0); m++ {
			var splits []int
			for i := 1; i < n; i++ {
				if m>>(i-1)&1 != 0 {
					splits = append(splits, i)
				}
			}
			f(splits)
		}
		return
	}
	f(nil)
	for _, size := range []int{1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 33} {
		var splits []int
		for i := size; i < n; i += size {
			splits = append(splits, i)
		}
		f(splits)
	}
}

// checkUTF8 checks the validator on p against its expected fail-fast index
// (-1 for valid input) and, for valid input, whether p ends between
// characters.
func checkUTF8(t *testing.T, p []byte, wantFail int, wantDone bool) {
	t.Helper()
	if wantFail >= 0 {
		wantDone = false
	}
	if got := failIndex(p); got != wantFail {
		t.Fatalf("failIndex(%x) = %d, want %d (the test's reference disagrees with its table)", p, got, wantFail)
	}
	if got, want := utf8.Valid(p), wantFail < 0 && wantDone; got != want {
		t.Fatalf("utf8.Valid(%x) = %v, want %v (the test's table disagrees with the standard library)", p, got, want)
	}
	if got := ValidUTF8(p); got != (wantFail < 0 && wantDone) {
		t.Errorf("ValidUTF8(%x) = %v, want %v", p, got, !got)
	}
	if fail, done := feedBytes(t, p); fail != wantFail || done != wantDone {
		t.Errorf("UTF8Validator fed %x byte by byte: fails at %d, Done() = %v; want %d, %v", p, fail, done, wantFail, wantDone)
	}
	everySplit(len(p), func(splits []int) {
		if ok, done := feedChunks(p, splits); ok != (wantFail < 0) || done != wantDone {
			t.Errorf("UTF8Validator fed %x cut at %v: Write = %v, Done() = %v; want %v, %v", p, splits, ok, done, wantFail < 0, wantDone)
		}
	})
}

// utf8Tests are named cases: the fail-fast index (-1 when the input is a
// valid prefix) and whether the input ends between characters.
var utf8Tests = []struct {
	name string
	in   string
	fail int
	done bool
}{
	{"empty", "", -1, true},
	{"ASCII", "Hello, world", -1, true},
	{"NUL and DEL", "\x00\x7f", -1, true},
	{"2 bytes", "h\u00e9llo", -1, true},
	{"3 bytes", "\u20ac", -1, true},
	{"4 bytes", "\U0001D11E", -1, true},
	{"Greek kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", -1, true},
	{"lowest of each length", "\x00\xc2\x80\xe0\xa0\x80\xf0\x90\x80\x80", -1, true},
	{"highest of each length", "\x7f\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf", -1, true},

	{"U+D7FF before the surrogates", "\xed\x9f\xbf", -1, true},
	{"U+D800 surrogate", "\xed\xa0\x80", 1, false},
	{"U+DBFF surrogate", "\xed\xaf\xbf", 1, false},
	{"U+DC00 surrogate", "\xed\xb0\x80", 1, false},
	{"U+DFFF surrogate", "\xed\xbf\xbf", 1, false},
	{"surrogate pair", "\xed\xa0\x80\xed\xb0\x80", 1, false},
	{"U+E000 after the surrogates", "\xee\x80\x80", -1, true},
	{"kosme then a surrogate", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", 12, false},

	{"U+10FFFF", "\xf4\x8f\xbf\xbf", -1, true},
	{"U+110000", "\xf4\x90\x80\x80", 1, false},
	{"kosme then U+110000", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80edited", 12, false},
	{"U+13FFFF", "\xf4\xbf\xbf\xbf", 1, false},
	{"F5 lead", "\xf5\x80\x80\x80", 0, false},
	{"FF", "a\xff", 1, false},
	{"FE", "\xfe", 0, false},

	{"overlong slash in 2 bytes", "\xc0\xaf", 0, false},
	{"overlong U+007F in 2 bytes", "\xc1\xbf", 0, false},
	{"overlong slash in 3 bytes", "\xe0\x80\xaf", 1, false},
	{"overlong U+07FF in 3 bytes", "\xe0\x9f\xbf", 1, false},
	{"overlong slash in 4 bytes", "\xf0\x80\x80\xaf", 1, false},
	{"overlong U+FFFF in 4 bytes", "\xf0\x8f\xbf\xbf", 1, false},
	{"overlong NUL in 5 bytes", "\xf8\x80\x80\x80\x80", 0, false},

	{"U+FFFE noncharacter", "\xef\xbf\xbe", -1, true},
	{"U+FFFF noncharacter", "\xef\xbf\xbf", -1, true},
	{"U+FDD0 noncharacter", "\xef\xb7\x90", -1, true},
	{"U+FDEF noncharacter", "\xef\xb7\xaf", -1, true},
	{"U+1FFFE noncharacter", "\xf0\x9f\xbf\xbe", -1, true},
	{"U+10FFFE noncharacter", "\xf4\x8f\xbf\xbe", -1, true},

	{"lone continuation 80", "\x80", 0, false},
	{"lone continuation BF", "ab\xbf", 2, false},
	{"2-byte lead then ASCII", "\xc2A", 1, false},
	{"3-byte lead then ASCII", "\xe1\x80A", 2, false},
	{"4-byte lead then ASCII", "\xf1\x80\x80A", 3, false},
	{"too many continuations", "\xc2\x80\x80", 2, false},
	{"lead after lead", "\xe1\xe1\x80\x80", 1, false},

	{"unfinished 2 bytes", "ab\xc2", -1, false},
	{"unfinished 3 bytes", "\xe0\xa0", -1, false},
	{"unfinished 4 bytes", "\xf4\x8f\xbf", -1, false},
	{"unfinished ED", "\xed", -1, false},
	{"unfinished F0", "\xf0", -1, false},
}

func TestUTF8Validator(t *testing.T) {
	for _, tt := range utf8Tests {
		t.Run(tt.name, func(t *testing.T) { checkUTF8(t, []byte(tt.in), tt.fail, tt.done) })
	}
}

// table37 is Table 3-7 of the Unicode Standard, "Well-Formed UTF-8 Byte
// Sequences": the range of the first byte and of each following byte.
var table37 = []struct {
	name  string
	first [2]byte
	next  [][2]byte
}{
	{"U+0000..U+007F", [2]byte{0x00, 0x7F}, nil},
	{"U+0080..U+07FF", [2]byte{0xC2, 0xDF}, [][2]byte{{0x80, 0xBF}}},
	{"U+0800..U+0FFF", [2]byte{0xE0, 0xE0}, [][2]byte{{0xA0, 0xBF}, {0x80, 0xBF}}},
	{"U+1000..U+CFFF", [2]byte{0xE1, 0xEC}, [][2]byte{{0x80, 0xBF}, {0x80, 0xBF}}},
	{"U+D000..U+D7FF", [2]byte{0xED, 0xED}, [][2]byte{{0x80, 0x9F}, {0x80, 0xBF}}},
	{"U+E000..U+FFFF", [2]byte{0xEE, 0xEF}, [][2]byte{{0x80, 0xBF}, {0x80, 0xBF}}},
	{"U+10000..U+3FFFF", [2]byte{0xF0, 0xF0}, [][2]byte{{0x90, 0xBF}, {0x80, 0xBF}, {0x80, 0xBF}}},
	{"U+40000..U+FFFFF", [2]byte{0xF1, 0xF3}, [][2]byte{{0x80, 0xBF}, {0x80, 0xBF}, {0x80, 0xBF}}},
	{"U+100000..U+10FFFF", [2]byte{0xF4, 0xF4}, [][2]byte{{0x80, 0x8F}, {0x80, 0xBF}, {0x80, 0xBF}}},
}

func TestUTF8ValidatorTable37(t *testing.T) {
	// Lead bytes that no row of the table allows fail at once.
	for _, b := range []byte{0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xF5, 0xF7, 0xF8, 0xFB, 0xFC, 0xFE, 0xFF} {
		t.Run(fmt.Sprintf("lead %X", b), func(t *testing.T) { checkUTF8(t, []byte{'a', b, 0x80, 0x80, 0x80}, 1, false) })
	}
	// Each row: its first and last lead byte, with each following byte at
	// its bounds and just outside them.
	for _, row := range table37 {
		for _, lead := range row.first {
			good := [][]byte{{lead}}
			for _, r := range row.next {
				var longer [][]byte
				for _, g := range good {
					longer = append(longer, append(bytes.Clone(g), r[0]), append(bytes.Clone(g), r[1]))
				}
				good = longer
			}
			for _, g := range good {
				t.Run(fmt.Sprintf("%s/%X", row.name, g), func(t *testing.T) {
					checkUTF8(t, g, -1, true)
					checkUTF8(t, append([]byte("ab"), g...), -1, true)
					// Cut short: still a valid beginning.
					for n := 1; n < len(g); n++ {
						checkUTF8(t, g[:n], -1, false)
					}
					// One following byte just outside its range fails there.
					for j, r := range row.next {
						for _, bad := range []byte{r[0] - 1, r[1] + 1} {
							b := bytes.Clone(g)
							b[1+j] = bad
							checkUTF8(t, b, 1+j, false)
						}
					}
				})
			}
		}
	}
}

func TestUTF8ValidatorExhaustive(t *testing.T) {
	// Every input of 1 and 2 bytes.
	for i := 0; i < 1<<16; i++ {
		for _, p := range [][]byte{{byte(i)}, {byte(i >> 8), byte(i)}} {
			fail, done := feedBytes(t, p)
			if want := failIndex(p); fail != want {
				t.Fatalf("UTF8Validator fed %x byte by byte fails at %d, want %d", p, fail, want)
			}
			if ok, want := fail < 0 && done, utf8.Valid(p); ok != want {
				t.Fatalf("UTF8Validator fed %x: valid and done = %v, want %v", p, ok, want)
			}
		}
	}
	// Every input of 3 and 4 bytes made of bytes at the bounds of Table 3-7.
	edges := []byte{0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
		0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF}
	var p [4]byte
	for _, a := range edges {
		for _, b := range edges {
			for _, c := range edges {
				for _, d := range edges {
					p = [4]byte{a, b, c, d}
					for _, in := range [][]byte{p[:3], p[:]} {
						fail, done := feedBytes(t, in)
						if want := failIndex(in); fail != want {
							t.Fatalf("UTF8Validator fed %x byte by byte fails at %d, want %d", in, fail, want)
						}
						if ok, want := fail < 0 && done, utf8.Valid(in); ok != want {
							t.Fatalf("UTF8Validator fed %x: valid and done = %v, want %v", in, ok, want)
						}
					}
				}
			}
		}
	}
}

func TestUTF8ValidatorFastPath(t *testing.T) {
	// A multi-byte character or a bad byte at every offset around the
	// 8- and 16-byte steps of the ASCII fast path.
	for k := 0; k <= 40; k++ {
		pre := strings.Repeat("a", k)
		post := strings.Repeat("z", 41-k)
		t.Run(fmt.Sprintf("euro at %d", k), func(t *testing.T) { checkUTF8(t, []byte(pre+"\u20ac"+post), -1, true) })
		t.Run(fmt.Sprintf("FF at %d", k), func(t *testing.T) { checkUTF8(t, []byte(pre+"\xff"+post), k, false) })
		t.Run(fmt.Sprintf("surrogate at %d", k), func(t *testing.T) { checkUTF8(t, []byte(pre+"\xed\xa0\x80"+post), k+1, false) })
		t.Run(fmt.Sprintf("cut lead at %d", k), func(t *testing.T) { checkUTF8(t, []byte(pre+"\xe2\x82"+post), k+2, false) })
	}
}

func TestUTF8ValidatorSticky(t *testing.T) {
	var v UTF8Validator
	if !v.Write([]byte("ok \xe2\x82")) || v.Done() {
		t.Fatalf("Write(%q) = false or Done() = true, want true and false", "ok \xe2\x82")
	}
	if v.Write([]byte("\xff")) {
		t.Errorf("Write(%q) after %q = true, want false", "\xff", "ok \xe2\x82")
	}
	for _, p := range []string{"", "abc", "\xac"} {
		if v.Write([]byte(p)) || v.Done() {
			t.Errorf("Write(%q) after a failure = true or Done() = true, want false and false", p)
		}
	}
	v.Reset()
	if !v.Done() || !v.Write([]byte("\u20ac")) || !v.Done() {
		t.Errorf("after Reset, Write(%q) = false or Done() = false, want true and true", "\u20ac")
	}
	var zero UTF8Validator
	if !zero.Done() || !zero.Write(nil) {
		t.Errorf("zero UTF8Validator: Done() = %v, Write(nil) = %v; want true, true", zero.Done(), zero.Write(nil))
	}
}

func TestUTF8ValidatorAllocs(t *testing.T) {
	p := []byte(strings.Repeat("Hello, wörld! 日本語 🎉 ", 20))
	var v UTF8Validator
	if n := testing.AllocsPerRun(100, func() {
		v.Reset()
		if !v.Write(p) {
			t.Fatal("Write returned false")
		}
	}); n != 0 {
		t.Errorf("UTF8Validator.Write: %v allocs per run, want 0", n)
	}
}

func FuzzUTF8Validator(f *testing.F) {
	for _, tt := range utf8Tests {
		f.Add([]byte(tt.in), uint64(len(tt.in)))
	}
	f.Fuzz(func(t *testing.T, p []byte, seed uint64) {
		want := utf8.Valid(p)
		wantFail := failIndex(p)
		fail, done := feedBytes(t, p)
		if fail != wantFail {
			t.Fatalf("UTF8Validator fed %x byte by byte fails at %d, want %d", p, fail, wantFail)
		}
		if ok := fail < 0 && done; ok != want {
			t.Fatalf("UTF8Validator fed %x byte by byte: valid and done = %v, utf8.Valid = %v", p, ok, want)
		}
		r := rand.New(rand.NewPCG(seed, 0))
		splits := randomSplits(r, len(p))
		if ok, done := feedChunks(p, splits); ok != (wantFail < 0) || (ok && done) != want {
			t.Fatalf("UTF8Validator fed %x cut at %v: Write = %v, Done() = %v; utf8.Valid = %v, fails at %d", p, splits, ok, done, want, wantFail)
		}
		var v UTF8Validator
		if ok := v.Write(p) && v.Done(); ok != want {
			t.Fatalf("UTF8Validator.Write(%x) and Done() = %v, utf8.Valid = %v", p, ok, want)
		}
	})
}

// benchText returns n bytes of ASCII or of mixed-script text.
func benchText(n int, mixed bool) []byte {
	s := "The quick brown fox jumps over the lazy dog. 0123456789\n"
	if mixed {
		s = "Hello wörld, Ωμέγα κόσμε, 日本語のテキスト, emoji 🎉🚀, ASCII too.\n"
	}
	b := []byte(strings.Repeat(s, n/len(s)+1))
	// Cut at a character boundary at or below n.
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return b[:n]
}

func BenchmarkUTF8Validator(b *testing.B) {
	for _, mixed := range []bool{false, true} {
		for _, n := range []int{1 << 10, 64 << 10} {
			kind := "ASCII"
			if mixed {
				kind = "mixed"
			}
			p := benchText(n, mixed)
			if !utf8.Valid(p) {
				b.Fatal("benchmark text is not valid UTF-8")
			}
			b.Run(fmt.Sprintf("%s/%d/validator", kind, n), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(p)))
				var v UTF8Validator
				for b.Loop() {
					v.Reset()
					if !v.Write(p) || !v.Done() {
						b.Fatal("invalid")
					}
				}
			})
			b.Run(fmt.Sprintf("%s/%d/utf8.Valid", kind, n), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(p)))
				for b.Loop() {
					if !utf8.Valid(p) {
						b.Fatal("invalid")
					}
				}
			})
		}
	}
}
