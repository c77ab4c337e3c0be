package backoff

import (
	"context"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		name   string
		jitter float64
		want   []time.Duration
	}{
		{"low", 0, []time.Duration{50, 100, 200, 400, 500, 500, 500}},
		{"high", 0.999999, []time.Duration{99, 199, 399, 799, 999, 999, 999}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := Backoff{Min: 100 * time.Millisecond, Max: time.Second, Jitter: func() float64 { return tc.jitter }}
			for i, w := range tc.want {
				if got := b.Next().Truncate(time.Millisecond); got != w*time.Millisecond {
					t.Errorf("wait %d = %v, want %v", i, got, w*time.Millisecond)
				}
			}
			if b.Failures() != len(tc.want) {
				t.Errorf("Failures() = %d, want %d", b.Failures(), len(tc.want))
			}
			b.Reset()
			if got := b.Next().Truncate(time.Millisecond); got != tc.want[0]*time.Millisecond {
				t.Errorf("after Reset, wait = %v, want %v", got, tc.want[0]*time.Millisecond)
			}
		})
	}
	// The default jitter stays in [w/2, w).
	b := Backoff{Min: time.Second, Max: time.Second}
	for range 1000 {
		if w := b.Next(); w < 500*time.Millisecond || w >= time.Second {
			t.Fatalf("wait %v outside [0.5s, 1s)", w)
		}
	}
}

// Sleep waits the whole duration, or returns ctx's error as soon as ctx is
// done.
func TestSleep(t *testing.T) {
	start := time.Now()
	if err := Sleep(context.Background(), 20*time.Millisecond); err != nil || time.Since(start) < 20*time.Millisecond {
		t.Fatalf("Sleep(20ms) = %v after %v", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	if err := Sleep(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("Sleep(1h) with a canceled ctx = %v, want context.Canceled", err)
	}
}
