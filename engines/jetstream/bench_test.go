package jetstream

import (
	"testing"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/internal/clustertest"
)

// BenchmarkJetStream: publish-to-delivery latency and rate with one node
// and with three on one embedded nats-server with file storage.
//
//	go test -run '^$' -bench JetStream -benchtime 5000x ./engines/jetstream
func BenchmarkJetStream(b *testing.B) {
	s := startNATS(b)
	clustertest.Bench(b, func(b *testing.B) hub.Engine {
		e, err := Connect(s.url(), nil)
		if err != nil {
			b.Fatal(err)
		}
		return e
	})
}
