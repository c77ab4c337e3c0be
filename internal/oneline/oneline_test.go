package oneline

import "testing"

func TestOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain text", "plain text"},
		{"two\nlines", "two lines"},
		{"crlf\r\nend", "crlf  end"},
		{"tab\there", "tab here"},
		{"nul\x00 del\x7f", "nul  del "},
		{"ünïcode\n", "ünïcode "},
	}
	for _, tt := range tests {
		if got := Of(tt.in); got != tt.want {
			t.Errorf("Of(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = Of("no control characters") }); n != 0 {
		t.Errorf("Of of a clean line allocates %v times, want 0", n)
	}
}
