package redis

import (
	"testing"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/internal/clustertest"
)

// BenchmarkRedis: publish-to-delivery latency and rate with one node and
// with three on one redis-server with an append-only file, the benchmark
// of BenchmarkJetStream in engines/jetstream, for two appendfsync
// policies: always (the file synced before each answer, as the tests run
// it) and everysec (written before each answer, synced once a second;
// JetStream's file store, by default, syncs every two minutes).
// scripts/bench-engines.sh runs this and BenchmarkJetStream interleaved.
//
//	go test -run '^$' -bench Redis -benchtime 5000x ./engines/redis
func BenchmarkRedis(b *testing.B) {
	for _, fsync := range []string{"always", "everysec"} {
		b.Run("fsync="+fsync, func(b *testing.B) {
			s := startRedisFsync(b, fsync)
			clustertest.Bench(b, func(b *testing.B) hub.Engine { return s.engine(b) })
		})
	}
}
