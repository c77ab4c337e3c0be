package dialn

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

func TestAllOpensEvery(t *testing.T) {
	var running, most atomic.Int32
	got, err := All(500, func(i int) (int, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		return i * 2, nil
	}, func(int) { t.Error("close called without a failure") })
	if err != nil || len(got) != 500 {
		t.Fatalf("All = %d results, %v", len(got), err)
	}
	for i, v := range got {
		if v != i*2 {
			t.Fatalf("result %d = %d, want %d", i, v, i*2)
		}
	}
	if m := most.Load(); m > InFlight {
		t.Errorf("%d opens at once, want at most %d", m, InFlight)
	}
}

// A failure closes exactly the results that opened, and All returns it.
func TestAllClosesOnFailure(t *testing.T) {
	boom := errors.New("boom")
	var mu sync.Mutex
	closed := map[string]bool{}
	got, err := All(200, func(i int) (string, error) {
		if i%50 == 49 {
			return "", fmt.Errorf("open %d: %w", i, boom)
		}
		return fmt.Sprint(i), nil
	}, func(s string) {
		mu.Lock()
		closed[s] = true
		mu.Unlock()
	})
	if !errors.Is(err, boom) || got != nil {
		t.Fatalf("All = %v, %v; want nil and the failure", got, err)
	}
	if len(closed) != 196 {
		t.Fatalf("%d closed, want the 196 that opened", len(closed))
	}
	for i := range 200 {
		if closed[fmt.Sprint(i)] == (i%50 == 49) {
			t.Fatalf("result %d closed = %v", i, closed[fmt.Sprint(i)])
		}
	}
}
