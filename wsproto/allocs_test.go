//go:build !race

// The race detector makes sync.Pool drop items on purpose, so allocation
// counts are only meaningful without it.

package wsproto

import (
	"context"
	"fmt"
	"testing"
)

// TestSteadyStateAllocs proves that a round trip (client write, server read
// and write, client read) allocates nothing once buffers are warm.
func TestSteadyStateAllocs(t *testing.T) {
	for _, size := range []int{16, 1 << 10, 64 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			client := echoPair(t)
			msg := payload(size, MessageText, 4)
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
			for range 10 {
				roundTrip()
			}
			if n := testing.AllocsPerRun(200, roundTrip); n != 0 {
				t.Fatalf("round trip of %d bytes: %v allocations, want 0", size, n)
			}
		})
	}
}

// TestContextAllocs: a cancelable context that stays the same across calls
// costs no allocation per message.
func TestContextAllocs(t *testing.T) {
	client := echoPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msg := []byte("hello")
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
	for range 10 {
		roundTrip()
	}
	if n := testing.AllocsPerRun(200, roundTrip); n != 0 {
		t.Fatalf("round trip with a cancelable context: %v allocations, want 0", n)
	}
}
