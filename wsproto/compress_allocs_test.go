//go:build !race

// The race detector makes sync.Pool drop items on purpose, so allocation
// counts are only meaningful without it.

package wsproto

import (
	"context"
	"testing"
)

// TestCompressedSteadyStateAllocs: with compression, a warm round trip
// allocates nothing, pooled or with context takeover.
func TestCompressedSteadyStateAllocs(t *testing.T) {
	for _, mode := range compressionModes {
		t.Run(mode.name, func(t *testing.T) {
			client := compressedEchoPair(t, mode.opts)
			msg := jsonLike(1<<10, 2)
			ctx := context.Background()
			var buf []byte
			roundTrip := func() {
				if err := client.Write(ctx, MessageText, msg); err != nil {
					t.Fatal(err)
				}
				var err error
				if _, buf, err = client.Read(ctx, buf); err != nil {
					t.Fatal(err)
				}
			}
			for range 20 {
				roundTrip()
			}
			if n := testing.AllocsPerRun(200, roundTrip); n != 0 {
				t.Fatalf("compressed round trip (%s): %v allocations, want 0", mode.name, n)
			}
		})
	}
}
