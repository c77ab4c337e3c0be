package wsproto

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// echoPair returns a client whose server echoes every message.
func echoPair(tb testing.TB) *Conn {
	server, client := pair(tb, &AcceptOptions{ReadLimit: 1 << 20}, &DialOptions{ReadLimit: 1 << 20})
	go echoLoop(server)
	return client
}

// echoLoop echoes every message of c until a read or write fails. (The
// tests of other packages use internal/wsecho, which imports wsproto.)
func echoLoop(c *Conn) {
	ctx := context.Background()
	var buf []byte
	for {
		typ, msg, err := c.Read(ctx, buf)
		if err != nil {
			return
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			return
		}
		buf = msg
	}
}

// BenchmarkEcho measures a round trip of one message through a pushwire
// client and server in one process over loopback TCP.
func BenchmarkEcho(b *testing.B) {
	for _, size := range []int{16, 1 << 10, 64 << 10} {
		for _, typ := range []MessageType{MessageBinary, MessageText} {
			b.Run(fmt.Sprintf("%s/%d", typ, size), func(b *testing.B) {
				client := echoPair(b)
				msg := payload(size, typ, 9)
				ctx := context.Background()
				var buf []byte
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if err := client.Write(ctx, typ, msg); err != nil {
						b.Fatal(err)
					}
					var err error
					if _, buf, err = client.Read(ctx, buf); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkGroupBroadcast broadcasts one 1 KiB message to 1,000
// connections of a Group over loopback TCP (written from the calling
// goroutine), or to 2,048 (spread over goroutines when GOMAXPROCS > 1),
// and waits until every client has read it. broadcast-ns/op is the time spent in the Broadcast call itself;
// allocs/op counts the whole process, the clients' reads included. (The
// 10,000-connection comparison with gorilla and gws, with the clients in
// another process, is the broadcast workload of peers/cmd/results.)
func BenchmarkGroupBroadcast(b *testing.B) {
	for _, n := range []int{1000, 2048} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchGroupBroadcast(b, n) })
	}
}

func benchGroupBroadcast(b *testing.B, n int) {
	g := NewGroup(nil)
	gs := newGroupServer(b, &AcceptOptions{Group: g}, false)
	got := make(chan struct{}, n)
	for range n {
		c, _ := gs.dial(b, nil)
		go func() {
			var buf []byte
			for {
				_, msg, err := c.Read(context.Background(), buf)
				if err != nil {
					return
				}
				buf = msg
				got <- struct{}{}
			}
		}()
	}
	pm, _ := NewPreparedMessage(MessageBinary, make([]byte, 1<<10))
	// A first broadcast encodes the frame and gives every client its
	// read buffer: what is measured is the steady state.
	g.Broadcast(pm, nil)
	for range n {
		<-got
	}
	var inCall time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if sent := g.Broadcast(pm, nil); sent != n {
			b.Fatalf("Broadcast reached %d of %d", sent, n)
		}
		inCall += time.Since(t0)
		for range n {
			<-got
		}
	}
	b.ReportMetric(float64(inCall.Nanoseconds())/float64(b.N), "broadcast-ns/op")
}
