package topicname

import (
	"strings"
	"testing"
)

func TestMapEscapes(t *testing.T) {
	for _, c := range []struct{ topic, want string }{
		{"", "t-"},
		{"chat", "t-chat"},
		{"a-b", "t-a-b"},
		{"A.b c", "t-_41_2eb_20c"},
		{"_", "t-_5f"},
		{"\x00ü", "t-_00_c3_bc"},
	} {
		if got := Map(c.topic, "t-", "h-", 64); got != c.want {
			t.Errorf("Map(%q) = %q, want %q", c.topic, got, c.want)
		}
	}
}

// Names whose mapping would pass max bytes are hashed; up to max they are
// not.
func TestMapHashes(t *testing.T) {
	if got := Map(strings.Repeat("x", 64), "t-", "h-", 64); got != "t-"+strings.Repeat("x", 64) {
		t.Errorf("Map(64 x) = %q, want it escaped, not hashed", got)
	}
	long := Map(strings.Repeat("x", 65), "t-", "h-", 64)
	if !strings.HasPrefix(long, "h-") || len(long) != 2+32 {
		t.Errorf("Map(65 x) = %q, want h- and 32 hex digits", long)
	}
	if other := Map(strings.Repeat("x", 66), "t-", "h-", 64); other == long {
		t.Errorf("two long names hashed to the same %q", other)
	}
	if got := Map(strings.Repeat(".", 22), "t-", "h-", 64); !strings.HasPrefix(got, "h-") {
		t.Errorf("Map(22 dots) = %q: 66 bytes escaped, want it hashed", got)
	}
}

// Distinct names map to distinct results, and the results hold only the
// bytes Map promises.
func TestMapOneToOne(t *testing.T) {
	seen := map[string]string{}
	for _, n := range []string{"a.b", "a_2eb", "a b", "a/b", "A", "a", "_41", "*", ">", "a.b.*", "a\x00", strings.Repeat("y", 200), strings.Repeat("y", 201)} {
		m := Map(n, "t-", "h-", 64)
		if prev, ok := seen[m]; ok {
			t.Errorf("Map(%q) = Map(%q) = %q", n, prev, m)
		}
		seen[m] = n
		for _, c := range []byte(m[2:]) {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				t.Errorf("Map(%q) = %q: byte %q", n, m, c)
			}
		}
	}
}

func FuzzMap(f *testing.F) {
	f.Add("chat", "other")
	f.Add("a.b", "a_2eb")
	f.Fuzz(func(t *testing.T, a, b string) {
		ma, mb := Map(a, "t-", "h-", 64), Map(b, "t-", "h-", 64)
		if a != b && ma == mb {
			t.Fatalf("Map(%q) = Map(%q) = %q", a, b, ma)
		}
		if len(ma) > 2+64+3 {
			t.Fatalf("Map(%q) = %q: %d bytes", a, ma, len(ma))
		}
	})
}
