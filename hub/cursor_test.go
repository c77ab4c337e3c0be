package hub

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var parseCursorTests = []struct {
	name string
	in   string
	want Cursor
	err  error
}{
	{"empty is now", "", FromNow(), nil},
	{"oldest", "oldest", FromOldest(), nil},
	{"zero", "0", After(0), nil},
	{"one", "1", After(1), nil},
	{"typical", "4711", After(4711), nil},
	{"max", "18446744073709551615", After(1<<64 - 1), nil},
	{"overflow", "18446744073709551616", Cursor{}, ErrInvalidCursor},
	{"overflow 20 nines", "99999999999999999999", Cursor{}, ErrInvalidCursor},
	{"too long", "000000000000000000001", Cursor{}, ErrInvalidCursor},
	{"very long", strings.Repeat("9", 4096), Cursor{}, ErrInvalidCursor},
	{"leading zero", "01", Cursor{}, ErrInvalidCursor},
	{"double zero", "00", Cursor{}, ErrInvalidCursor},
	{"minus", "-1", Cursor{}, ErrInvalidCursor},
	{"plus", "+1", Cursor{}, ErrInvalidCursor},
	{"leading space", " 1", Cursor{}, ErrInvalidCursor},
	{"trailing space", "1 ", Cursor{}, ErrInvalidCursor},
	{"trailing newline", "1\n", Cursor{}, ErrInvalidCursor},
	{"hex", "0x10", Cursor{}, ErrInvalidCursor},
	{"exponent", "1e3", Cursor{}, ErrInvalidCursor},
	{"underscore", "1_000", Cursor{}, ErrInvalidCursor},
	{"letters", "abc", Cursor{}, ErrInvalidCursor},
	{"oldest capitalised", "Oldest", Cursor{}, ErrInvalidCursor},
	{"now spelled out", "now", Cursor{}, ErrInvalidCursor},
	{"fullwidth digit", "\uff11", Cursor{}, ErrInvalidCursor},
	{"NUL", "1\x00", Cursor{}, ErrInvalidCursor},
	{"with epoch", "k3x9:17", AfterIn("k3x9", 17), nil},
	{"epoch zero", "Ab-_9:0", AfterIn("Ab-_9", 0), nil},
	{"epoch of 32", strings.Repeat("e", 32) + ":18446744073709551615", AfterIn(Epoch(strings.Repeat("e", 32)), 1<<64-1), nil},
	{"epoch of 33", strings.Repeat("e", 33) + ":1", Cursor{}, ErrInvalidCursor},
	{"empty epoch", ":1", Cursor{}, ErrInvalidCursor},
	{"epoch without seq", "k3x9:", Cursor{}, ErrInvalidCursor},
	{"epoch oldest", "k3x9:oldest", Cursor{}, ErrInvalidCursor},
	{"two colons", "a:b:1", Cursor{}, ErrInvalidCursor},
	{"dot in epoch", "a.b:1", Cursor{}, ErrInvalidCursor},
	{"space in epoch", "a b:1", Cursor{}, ErrInvalidCursor},
	{"newline in epoch", "a\n:1", Cursor{}, ErrInvalidCursor},
	{"non-ASCII epoch", "\u00e9:1", Cursor{}, ErrInvalidCursor},
	{"epoch leading zero", "e:01", Cursor{}, ErrInvalidCursor},
}

func TestParseCursor(t *testing.T) {
	for _, tt := range parseCursorTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCursor(tt.in)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("ParseCursor(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("ParseCursor(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
			if err == nil {
				if s := got.String(); s != tt.in {
					t.Errorf("ParseCursor(%q).String() = %q, want %q", tt.in, s, tt.in)
				}
			}
		})
	}
}

func TestCursorString(t *testing.T) {
	tests := []struct {
		name string
		c    Cursor
		want string
	}{
		{"zero value", Cursor{}, "0"},
		{"after", After(42), "42"},
		{"now", FromNow(), ""},
		{"oldest", FromOldest(), "oldest"},
		{"max", After(1<<64 - 1), "18446744073709551615"},
		{"with epoch", AfterIn("k3x9", 17), "k3x9:17"},
		{"AfterIn without epoch", AfterIn("", 17), "17"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.String(); got != tt.want {
				t.Errorf("%#v.String() = %q, want %q", tt.c, got, tt.want)
			}
		})
	}
}

func TestCursorSeq(t *testing.T) {
	tests := []struct {
		name string
		c    Cursor
		seq  Seq
		ok   bool
	}{
		{"after", After(7), 7, true},
		{"zero value", Cursor{}, 0, true},
		{"now", FromNow(), 0, false},
		{"oldest", FromOldest(), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq, ok := tt.c.Seq()
			if seq != tt.seq || ok != tt.ok {
				t.Errorf("%#v.Seq() = %d, %v, want %d, %v", tt.c, seq, ok, tt.seq, tt.ok)
			}
		})
	}
}

func TestSeqStringMatchesAppendUint(t *testing.T) {
	for _, s := range []Seq{0, 1, 9, 10, 1<<32 + 1, 1<<64 - 1} {
		want := string(strconv.AppendUint(nil, uint64(s), 10))
		if got := s.String(); got != want {
			t.Errorf("Seq(%d).String() = %q, want %q", uint64(s), got, want)
		}
	}
}

// FuzzParseCursor checks ParseCursor against a plain reference: "" and
// "oldest" are the symbolic cursors; otherwise a string is an optional
// epoch (a regular expression's idea of 1 to 32 letters, digits, '-' and
// '_') and a colon, then a number that strconv.ParseUint accepts and
// formats back to the same text. Accepted strings must round-trip through
// Cursor.String.
func FuzzParseCursor(f *testing.F) {
	for _, tt := range parseCursorTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseCursor(s)
		var want Cursor
		wantOK := true
		switch s {
		case "":
			want = FromNow()
		case "oldest":
			want = FromOldest()
		default:
			num, epoch := s, ""
			if m := epochPrefix.FindString(s); m != "" {
				epoch, num = m[:len(m)-1], s[len(m):]
			}
			n, perr := strconv.ParseUint(num, 10, 64)
			wantOK = perr == nil && strconv.FormatUint(n, 10) == num
			want = AfterIn(Epoch(epoch), Seq(n))
		}
		if !wantOK {
			if err == nil || !errors.Is(err, ErrInvalidCursor) {
				t.Fatalf("ParseCursor(%q) = %#v, %v, want error wrapping %v", s, got, err, ErrInvalidCursor)
			}
			return
		}
		if err != nil || got != want {
			t.Fatalf("ParseCursor(%q) = %#v, %v, want %#v, nil", s, got, err, want)
		}
		if back := got.String(); back != s {
			t.Fatalf("ParseCursor(%q).String() = %q, want %q", s, back, s)
		}
	})
}

func TestNewEpoch(t *testing.T) {
	seen := map[Epoch]bool{}
	for range 1000 {
		e := NewEpoch()
		if !e.Valid() || len(e) > 13 {
			t.Fatalf("NewEpoch() = %q, want a valid epoch of at most 13 bytes", e)
		}
		if seen[e] {
			t.Fatalf("NewEpoch() repeated %q", e)
		}
		seen[e] = true
	}
}

func TestCursorAppendTextAllocs(t *testing.T) {
	c := AfterIn("k3x9", 1<<40)
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf, _ = c.AppendText(buf[:0]) }); n != 0 {
		t.Errorf("AppendText allocates %v times, want 0", n)
	}
	if string(buf) != c.String() {
		t.Errorf("AppendText = %q, String = %q", buf, c.String())
	}
}

// epochPrefix is the reference grammar of an epoch and its colon.
var epochPrefix = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}:`)
