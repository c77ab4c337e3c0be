package cli

import (
	"runtime/debug"
	"testing"
)

// gcPercent returns the collector's target without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestServerGC: echo and serve run the collector at serverGCPercent unless
// the environment sets GOGC or GOMEMLIMIT, and restore the setting after.
func TestServerGC(t *testing.T) {
	before := gcPercent()
	tests := []struct {
		name, gogc, limit string
		want              int
	}{
		{"default", "", "", serverGCPercent},
		{"GOGC set", "200", "", before},
		{"GOMEMLIMIT set", "", "1GiB", before},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOGC", tt.gogc)
			t.Setenv("GOMEMLIMIT", tt.limit)
			restore := setServerGC()
			got := gcPercent()
			restore()
			if got != tt.want {
				t.Errorf("GOGC=%q GOMEMLIMIT=%q: collector target %d, want %d", tt.gogc, tt.limit, got, tt.want)
			}
			if after := gcPercent(); after != before {
				t.Errorf("after restore: %d, want %d", after, before)
			}
		})
	}
}
