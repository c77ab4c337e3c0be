//go:build !race

// The race detector makes sync.Pool drop items on purpose, so allocation
// counts are only meaningful without it.

package wsproto

import (
	"fmt"
	"io"
	"testing"

	"github.com/pushwire/pushwire/wsproto/frame"
)

// TestCoalescedAllocs: an echo whose replies are held back and written
// together allocates nothing per burst once its buffers are warm.
func TestCoalescedAllocs(t *testing.T) {
	c, wc, raw := batchPair(t)
	ended := make(chan error, 1)
	go func() { ended <- echoUntilError(c) }()
	defer func() { c.CloseNow(); <-ended }()
	const n = 8
	var burst []byte
	for i := range n {
		burst = append(burst, clientFrame(frame.OpBinary, fmt.Appendf(nil, "message %8d", i))...)
	}
	replies := make([]byte, n*(2+16))
	roundTrip := func() {
		if _, err := raw.Write(burst); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(raw, replies); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 {
		roundTrip()
	}
	before := wc.writes.Load()
	if a := testing.AllocsPerRun(100, roundTrip); a != 0 {
		t.Errorf("a burst of %d messages and their replies: %v allocations, want 0", n, a)
	}
	if w := wc.writes.Load() - before; w >= 101*n {
		t.Errorf("%d writes for %d replies: none coalesced", w, 101*n)
	}
}
