package wsecho

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pushwire/pushwire/wsproto"
)

// BenchmarkEcho compares Serve, which parks a connection between messages,
// with Loop, which keeps its goroutine in Read, in the same run: round
// trips of one 16-byte message at a time (where Serve parks after every
// message: the cost of parking), a window of 32 messages in flight (where
// input is usually buffered and Serve does not park), and 64 KiB messages
// 8 at a time (as peers/RESULTS.md's echo rows).
func BenchmarkEcho(b *testing.B) {
	servers := []struct {
		name  string
		serve func(c *wsproto.Conn)
	}{
		{"Loop", func(c *wsproto.Conn) { Loop(context.Background(), c) }},
		{"Serve", Serve},
	}
	for _, w := range []struct{ size, window int }{{16, 1}, {16, 32}, {64 << 10, 8}} {
		size, window := w.size, w.window
		for _, sv := range servers {
			b.Run(fmt.Sprintf("size=%d/window=%d/%s", size, window, sv.name), func(b *testing.B) {
				srv := httptest.NewServer(wsproto.Handler(nil, func(c *wsproto.Conn, _ *http.Request) { sv.serve(c) }))
				defer srv.Close()
				ctx := context.Background()
				c, _, err := wsproto.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
				if err != nil {
					b.Fatal(err)
				}
				defer c.CloseNow()
				msg := make([]byte, size)
				b.SetBytes(int64(size))
				credits := make(chan struct{}, window)
				for range window {
					credits <- struct{}{}
				}
				errc := make(chan error, 1)
				b.ReportAllocs()
				b.ResetTimer()
				go func() {
					for range b.N {
						<-credits
						if err := c.Write(ctx, wsproto.MessageBinary, msg); err != nil {
							errc <- err
							return
						}
					}
				}()
				var buf []byte
				for range b.N {
					_, m, err := c.Read(ctx, buf)
					if err != nil {
						b.Fatal(err)
					}
					buf = m
					credits <- struct{}{}
				}
				select {
				case err := <-errc:
					b.Fatal(err)
				default:
				}
			})
		}
	}
}
