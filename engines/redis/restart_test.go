package redis

import (
	"testing"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/internal/clustertest"
)

// TestRestart: a pushwire node on Redis is killed and, while it is down,
// redis-server is killed (SIGKILL) and started again on its append-only
// file; the node starts again on the same address and its clients, of
// every transport, resume from their cursors: no reset, every entry from
// before and after exactly once.
func TestRestart(t *testing.T) {
	s := startRedis(t)
	clustertest.Restart(t, &clustertest.RestartOptions{
		Engine:    func(t testing.TB) hub.Engine { return s.engine(t) },
		Between:   s.restart,
		WantReset: false,
	})
}
