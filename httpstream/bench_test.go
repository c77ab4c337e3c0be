package httpstream

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/pushwire/pushwire/hub"
)

// benchSink encodes each entry as the chunked transport does, into its own
// buffer, and counts it on a shared WaitGroup.
type benchSink struct {
	ndjsonSink
	wg *sync.WaitGroup
}

func (s *benchSink) entry(e *hub.Entry) error {
	s.ndjsonSink.entry(e)
	s.wg.Done()
	return nil
}

// benchSSESink encodes each entry as the SSE transport does.
type benchSSESink struct {
	sseSink
	wg *sync.WaitGroup
}

func (s *benchSSESink) entry(e *hub.Entry) error {
	s.sseSink.entry(e)
	s.wg.Done()
	return nil
}

// BenchmarkFanOut publishes 64-byte entries to a topic read by subs
// streams, each encoding every entry as an NDJSON record; an operation ends
// when every stream has encoded the entry. ns/sub is the fan-out cost per
// subscriber; allocs/op must not grow with the subscribers.
func BenchmarkFanOut(b *testing.B) {
	benchFanOut(b, func(wg *sync.WaitGroup) sink {
		return &benchSink{wg: wg}
	})
}

// BenchmarkFanOutSSE is BenchmarkFanOut with every stream encoding SSE
// events.
func BenchmarkFanOutSSE(b *testing.B) {
	benchFanOut(b, func(wg *sync.WaitGroup) sink {
		return &benchSSESink{wg: wg}
	})
}

func benchFanOut(b *testing.B, newSink func(*sync.WaitGroup) sink) {
	for _, subs := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			tp := hub.NewTopic(&hub.TopicOptions{Epoch: "e1"})
			h := NewHandler(tp, &Options{KeepAlive: -1})
			ctx, cancel := context.WithCancel(context.Background())
			var wg, running sync.WaitGroup
			for range subs {
				s := newSink(&wg)
				running.Go(func() { h.stream(ctx, hub.After(0), s) })
			}
			data := make([]byte, 64)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				wg.Add(subs)
				if _, err := tp.Publish(ctx, "", data); err != nil {
					b.Fatal(err)
				}
				wg.Wait()
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(subs), "ns/sub")
			cancel()
			running.Wait()
			h.Close()
		})
	}
}
