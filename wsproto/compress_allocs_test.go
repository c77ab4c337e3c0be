//go:build !race

// The race detector makes sync.Pool drop items on purpose, so allocation
// counts are only meaningful without it.

package wsproto

import (
	"context"
	"fmt"
	"testing"
)

// TestCompressedSteadyStateAllocs: with compression, a warm round trip
// of a 1 KiB or a 64 KiB message allocates nothing, pooled or with context
// takeover, on either end.
func TestCompressedSteadyStateAllocs(t *testing.T) {
	for _, mode := range compressionModes {
		for _, size := range []int{1 << 10, 64 << 10} {
			t.Run(fmt.Sprintf("%s/%d", mode.name, size), func(t *testing.T) {
				steadyCompressed(t, mode.opts, jsonLike(size, 2))
			})
		}
	}
}

// steadyCompressed checks that an echo of msg through a server with
// compression opts allocates nothing once warm.
func steadyCompressed(t *testing.T, opts *CompressionOptions, msg []byte) {
	client := compressedEchoPair(t, opts)
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
	if n := testing.AllocsPerRun(100, roundTrip); n != 0 {
		t.Fatalf("compressed round trip of %d bytes: %v allocations, want 0", len(msg), n)
	}
}
