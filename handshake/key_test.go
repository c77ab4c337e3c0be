package handshake

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestAcceptKey(t *testing.T) {
	tests := []struct {
		name, key, want string
	}{
		// RFC 6455 §1.3 and §4.2.2: SHA-1 0xb3 0x7a 0x4f ... 0xea.
		{"RFC 6455 example", "dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
		// The key is hashed as sent, not decoded: sha1("" + GUID).
		{"empty", "", "Kfh9QIsMVZcl6xEPYxPHzW8SZ8w="},
		// Longer than the stack buffer appendAcceptKey uses.
		{"100-byte key", strings.Repeat("A", 100), "WXqNWiGhe0+utGv47+HlLjR7KVw="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AcceptKey(tt.key); got != tt.want {
				t.Errorf("AcceptKey(%q) = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestAcceptKeyAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { AcceptKey("dGhlIHNhbXBsZSBub25jZQ==") }); n > 1 {
		t.Errorf("AcceptKey allocates %v times, want at most 1 (the result)", n)
	}
}

func TestNewKey(t *testing.T) {
	seen := make(map[string]bool)
	for range 100 {
		k := NewKey()
		b, err := base64.StdEncoding.Strict().DecodeString(k)
		if err != nil || len(b) != 16 || len(k) != 24 {
			t.Fatalf("NewKey() = %q, decodes to %d bytes, %v; want base64 of 16 bytes", k, len(b), err)
		}
		if seen[k] {
			t.Fatalf("NewKey() = %q twice in 100 calls", k)
		}
		seen[k] = true
	}
}

func BenchmarkAcceptKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		AcceptKey("dGhlIHNhbXBsZSBub25jZQ==")
	}
}
