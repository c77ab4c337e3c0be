package redis

import (
	"testing"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/internal/clustertest"
)

// TestCluster: three pushwire nodes on one Redis, a publisher on each
// (3 × 2,000 entries), WebSocket, SSE, long-poll and NDJSON clients
// hopping to a random node every ~200 entries, the first node killed
// without a graceful close a third of the way: every client receives
// 1..6000 exactly once, in order, with the same payload at each seq.
func TestCluster(t *testing.T) {
	s := startRedis(t)
	res := clustertest.Run(t, &clustertest.Options{
		Engine: func(t testing.TB) hub.Engine { return s.engine(t) },
	})
	t.Logf("%d entries to %d clients in %v: %d connections, %d broken by the kill, %d publishes retried on another node",
		res.Entries, res.Clients, res.Took, res.Hops, res.Failures, res.Retries)
}
