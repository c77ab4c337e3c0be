package enginetest_test

import (
	"testing"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/hub/enginetest"
)

// An engine module runs the suite from a test of its own. Here the
// in-memory engine: every node shares one MemoryEngine, and a restart is
// a new one (a volatile store, so Durable is false).
func Example() {
	test := func(t *testing.T) {
		store := hub.NewMemoryEngine()
		enginetest.Run(t, enginetest.Harness{
			Node:    func(*testing.T) hub.Engine { return memoryNode{store} },
			Restart: func(*testing.T) { store = hub.NewMemoryEngine() },
			Durable: false,
			Wipe:    func(*testing.T) { store.Wipe() },
		})
	}
	_ = test
}
