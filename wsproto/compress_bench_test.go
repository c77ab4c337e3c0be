package wsproto

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// BenchmarkEchoCompressed measures a round trip of one JSON-like text
// message through a pushwire client and server with permessage-deflate,
// pooled (no context takeover either way) and with context takeover.
func BenchmarkEchoCompressed(b *testing.B) {
	for _, mode := range compressionModes {
		for _, size := range []int{1 << 10, 64 << 10} {
			b.Run(fmt.Sprintf("%s/%d", mode.name, size), func(b *testing.B) {
				client := compressedEchoPair(b, mode.opts)
				// Distinct messages, so that context takeover does not
				// see the same bytes every time.
				msgs := make([][]byte, 16)
				for i := range msgs {
					msgs[i] = jsonLike(size, i)
				}
				ctx := context.Background()
				var buf []byte
				b.SetBytes(int64(size))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if err := client.Write(ctx, MessageText, msgs[i%len(msgs)]); err != nil {
						b.Fatal(err)
					}
					i++
					var err error
					if _, buf, err = client.Read(ctx, buf); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkIdleConnMemory measures the heap held per idle connection after
// one 4 KiB JSON-like message each way, without compression and with
// compression pooled or with context takeover. Each iteration opens 100
// connections (200 ends, all in this process) and reports heap bytes per
// end as "heapB/conn"; sync.Pool contents are not counted.
func BenchmarkIdleConnMemory(b *testing.B) {
	modes := append([]struct {
		name string
		opts *CompressionOptions
	}{{"uncompressed", nil}}, compressionModes...)
	for _, mode := range modes {
		b.Run(mode.name, func(b *testing.B) {
			const n = 100
			conns := make(chan *Conn, n)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := Accept(w, r, &AcceptOptions{Compression: mode.opts})
				if err != nil {
					return
				}
				conns <- c
			}))
			defer srv.Close()
			url := "ws" + strings.TrimPrefix(srv.URL, "http")
			msg := jsonLike(4<<10, 1)
			ctx := context.Background()
			var total float64
			var runs int
			for b.Loop() {
				var ms runtime.MemStats
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&ms)
				before := ms.HeapAlloc
				ends := make([]*Conn, 0, 2*n)
				for range n {
					client, _, err := Dial(ctx, url, &DialOptions{Compression: mode.opts})
					if err != nil {
						b.Fatal(err)
					}
					server := <-conns
					ends = append(ends, client, server)
					for _, d := range [][2]*Conn{{client, server}, {server, client}} {
						errc := make(chan error, 1)
						go func() { errc <- d[0].Write(ctx, MessageText, msg) }()
						if _, _, err := d[1].Read(ctx, nil); err != nil {
							b.Fatal(err)
						}
						if err := <-errc; err != nil {
							b.Fatal(err)
						}
					}
				}
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&ms)
				total += float64(int64(ms.HeapAlloc)-int64(before)) / float64(len(ends))
				runs++
				runtime.KeepAlive(ends)
				for _, c := range ends {
					c.CloseNow()
				}
			}
			b.ReportMetric(total/float64(runs), "heapB/conn")
		})
	}
}
