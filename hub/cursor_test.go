package hub

import (
	"errors"
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
// "oldest" are the symbolic cursors; otherwise a string is accepted exactly
// when strconv.ParseUint accepts it and formats back to the same text.
// Accepted strings must round-trip through Cursor.String.
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
			n, perr := strconv.ParseUint(s, 10, 64)
			wantOK = perr == nil && strconv.FormatUint(n, 10) == s
			want = After(Seq(n))
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
