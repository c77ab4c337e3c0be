package wsproto

import (
	"context"
	"fmt"
	"testing"
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
