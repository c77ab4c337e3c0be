//go:build !race

// The race detector makes sync.Pool drop items on purpose, so allocation
// counts are only meaningful without it.

package wsproto

import "testing"

// TestGroupSpreadAllocs: in steady state a spread Broadcast allocates
// nothing: its member list, its helpers' shared state and their function
// value are kept by the group. Each run waits until every client has read
// the message, so that no member needs its queue (whose first use
// allocates it).
func TestGroupSpreadAllocs(t *testing.T) {
	g, _, scs := spreadGroup(t, spreadMembers, nil)
	const runs = 50
	pms := make([]*PreparedMessage, runs+2)
	for i := range pms {
		pms[i] = numbered(uint32(i))
		pms[i].serverFrame() // encoded before, as by an earlier Broadcast
	}
	next := uint32(0)
	allocs := testing.AllocsPerRun(runs, func() {
		if got := g.Broadcast(pms[next], nil); got != spreadMembers {
			t.Fatalf("Broadcast reached %d, want %d", got, spreadMembers)
		}
		next++
		waitRead(t, scs, next)
	})
	if allocs != 0 {
		t.Errorf("a spread Broadcast to %d members allocates %.1f times, want 0", spreadMembers, allocs)
	}
}
