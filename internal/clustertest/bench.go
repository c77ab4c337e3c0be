package clustertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
)

// Bench runs Measure as a benchmark for 1 and 3 nodes on engines from
// engine, b.N entries per run, in two modes: "paced", 3 publishers spread
// over the nodes publishing 1,000 entries/s in all, whose latency is the
// pipeline's; and "max", 8 publishers as fast as acknowledgements come
// back, whose rate is the throughput. It reports the publish-to-delivery
// latency (p50-µs, p99-µs) over a subscriber on every node and the rate
// (entries/s) at which entries reached every subscriber. Run it with a
// fixed count, such as -benchtime 3000x.
func Bench(b *testing.B, engine func(b *testing.B) hub.Engine) {
	modes := []struct {
		name string
		pubs int
		rate float64
	}{{"paced", 3, 1000}, {"max", 8, 0}}
	for _, nodes := range []int{1, 3} {
		for _, mode := range modes {
			b.Run(fmt.Sprintf("nodes=%d/%s", nodes, mode.name), func(b *testing.B) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				name := fmt.Sprintf("bench-%d", time.Now().UnixNano())
				ns := startNodes(b, ctx, nodes, func(testing.TB) hub.Engine { return engine(b) }, name, &hub.TopicOptions{MaxEntries: 100000, MaxBytes: 64 << 20})
				b.ResetTimer()
				lat, err := Measure(ctx, ns, b.N, mode.pubs, mode.rate)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(lat.P50.Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat.P99.Microseconds()), "p99-µs")
				b.ReportMetric(lat.PerSecond, "entries/s")
			})
		}
	}
}
