package redis

import (
	"testing"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/hub/enginetest"
)

// TestEngine runs hub's engine suite, at full scale, on a redis-server
// with an append-only file synced at every write: durable across a kill
// (the restart is SIGKILL and a start on the file); the wipe is FLUSHALL.
func TestEngine(t *testing.T) {
	s := startRedis(t)
	enginetest.Run(t, enginetest.Harness{
		Node:    func(t *testing.T) hub.Engine { return s.engine(t) },
		Restart: func(t *testing.T) { s.restart(t) },
		Durable: true,
		Wipe:    func(t *testing.T) { s.flushAll(t) },
	})
}
