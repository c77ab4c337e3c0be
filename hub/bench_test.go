package hub

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// BenchmarkPublish publishes 64-byte entries to a topic on which subs
// goroutines wait. After each wake-up a subscriber jumps to the head and
// waits again, so the figures are the cost of publishing plus the shared
// wake-up; allocs/op must not grow with the subscriber count.
func BenchmarkPublish(b *testing.B) {
	for _, subs := range []int{0, 1, 100, 10000} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tp := NewTopic(nil)
			for range defaultMaxEntries {
				tp.Publish(ctx, "", nil) // fill the ring so that it does not grow
			}
			var ready, exited sync.WaitGroup
			for range subs {
				ready.Add(1)
				exited.Go(func() {
					_, c, _ := tp.ReadAfter(ctx, FromNow(), nil)
					ready.Done()
					for {
						if err := tp.Wait(ctx, c); err != nil {
							return
						}
						_, c, _ = tp.ReadAfter(ctx, FromNow(), nil)
					}
				})
			}
			ready.Wait()
			data := make([]byte, 64)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tp.Publish(ctx, "", data); err != nil {
					b.Fatal(err)
				}
			}
			tp.Close()
			exited.Wait()
		})
	}
}

// BenchmarkReadAfter reads batches of entries of 64 bytes after a cursor
// from a full topic, as a long poll does.
func BenchmarkReadAfter(b *testing.B) {
	for _, batch := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			tp := NewTopic(nil)
			data := make([]byte, 64)
			for range 2 * defaultMaxEntries { // full, wrapped ring
				tp.Publish(ctx, "", data)
			}
			buf := make([]Entry, batch)
			c := After(defaultMaxEntries + 100)
			b.SetBytes(int64(batch * len(data)))
			b.ReportAllocs()
			for b.Loop() {
				n, _, err := tp.ReadAfter(ctx, c, buf)
				if n != batch || err != nil {
					b.Fatalf("ReadAfter(%q) = %d, %v, want %d, nil", c, n, err, batch)
				}
			}
		})
	}
}

// BenchmarkNext publishes an entry and reads it through a subscription:
// the per-message path of a streaming transport.
func BenchmarkNext(b *testing.B) {
	ctx := context.Background()
	tp := NewTopic(nil)
	sub, _ := tp.Subscribe(ctx, FromNow())
	defer sub.Close()
	data := make([]byte, 64)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		tp.Publish(ctx, "", data)
		if _, err := sub.Next(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishNotify is BenchmarkPublish with subscribers that wait
// through Notify instead of a goroutine each: each notification reads to
// the head with TryNext and asks again, on the waker's goroutine. The
// figures are the cost of publishing plus delivering every notification;
// allocs/op must stay at the payload copy.
func BenchmarkPublishNotify(b *testing.B) {
	for _, subs := range []int{0, 1, 100, 10000} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			ctx := context.Background()
			tp := NewTopic(nil)
			for range defaultMaxEntries {
				tp.Publish(ctx, "", nil) // fill the ring so that it does not grow
			}
			var pending sync.WaitGroup // notifications not yet delivered
			for range subs {
				sub, _ := tp.Subscribe(ctx, FromNow())
				n := sub.(Notifier)
				var f func()
				f = func() {
					for {
						if _, ok, err := n.TryNext(ctx); err != nil {
							pending.Done()
							return
						} else if ok {
							continue
						}
						if waiting, _ := n.Notify(ctx, f); waiting {
							pending.Done()
							return
						}
					}
				}
				pending.Add(1)
				f()
			}
			data := make([]byte, 64)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				pending.Add(subs)
				if _, err := tp.Publish(ctx, "", data); err != nil {
					b.Fatal(err)
				}
				pending.Wait()
			}
			pending.Add(subs)
			tp.Close()
			pending.Wait()
		})
	}
}
