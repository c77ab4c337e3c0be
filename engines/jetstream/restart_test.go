package jetstream

import (
	"testing"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/internal/clustertest"
)

// TestRestart: a pushwire node on JetStream with file storage is killed
// and, while it is down, the nats-server restarts too; the node starts
// again on the same address and its clients, of every transport, resume
// from their cursors: no reset, every entry from before and after exactly
// once.
func TestRestart(t *testing.T) {
	s := startNATS(t)
	clustertest.Restart(t, &clustertest.RestartOptions{
		Engine: func(t testing.TB) hub.Engine {
			e, err := Connect(s.url(), nil)
			if err != nil {
				t.Fatal(err)
			}
			return e
		},
		Between:   func(t testing.TB) { s.stop(); s.start() },
		WantReset: false,
	})
}
