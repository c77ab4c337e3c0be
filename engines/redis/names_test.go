package redis

import (
	"strings"
	"testing"
)

// TestTopicTag: distinct names get distinct tags, including a short
// name built to look like a long name's hash; every tag is non-empty,
// has no brace and only bytes that need no quoting.
func TestTopicTag(t *testing.T) {
	long := strings.Repeat("x", 300)
	hashed := topicTag(long)
	if !strings.HasPrefix(hashed, "h-") || len(hashed) != 2+32 {
		t.Fatalf("topicTag(300 x) = %q, want h- and 32 hex digits", hashed)
	}
	names := []string{"", "a", "A", "a.b", "a_b", "a-b", "a b", "a/b", "a{b}", "{", "}", "\x00", "ü", "u",
		"_61", "t-a", "h-", long, long + "1", hashed, hashed[2:], strings.Repeat("y", 64)}
	seen := map[string]string{}
	for _, n := range names {
		tag := topicTag(n)
		if prev, dup := seen[tag]; dup {
			t.Errorf("topicTag(%q) = topicTag(%q) = %q", n, prev, tag)
		}
		seen[tag] = n
		if tag == "" || strings.ContainsAny(tag, "{}") {
			t.Errorf("topicTag(%q) = %q: empty or with a brace", n, tag)
		}
		for i := 0; i < len(tag); i++ {
			c := tag[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				t.Errorf("topicTag(%q) = %q: byte %q", n, tag, c)
			}
		}
	}
}

// TestTopicKeys: a topic's four keys share the hash tag, so Redis
// Cluster puts them in one slot.
func TestTopicKeys(t *testing.T) {
	keys := topicKeys("chat room/1")
	want := []string{"pw:{t-chat_20room_2f1}:m", "pw:{t-chat_20room_2f1}:s", "pw:{t-chat_20room_2f1}:k", "pw:{t-chat_20room_2f1}:e"}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Errorf("topicKeys(%q) = %q, want %q", "chat room/1", keys, want)
	}
}
