package enginetest_test

import (
	"sync"
	"testing"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/hub/enginetest"
)

// memoryStore is the shared store of the in-memory default: one
// MemoryEngine that every node of the process shares. Restart replaces it,
// as a restarted process would.
type memoryStore struct {
	mu sync.Mutex
	e  *hub.MemoryEngine
}

// memoryNode is one node's client of the store; closing it leaves the
// store alone.
type memoryNode struct{ *hub.MemoryEngine }

func (memoryNode) Close() error { return nil }

func (s *memoryStore) node(t *testing.T) hub.Engine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return memoryNode{s.e}
}

func (s *memoryStore) restart(t *testing.T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.e.Close()
	s.e = hub.NewMemoryEngine()
}

// TestMemoryEngine runs the suite against the in-memory default.
func TestMemoryEngine(t *testing.T) {
	s := &memoryStore{e: hub.NewMemoryEngine()}
	defer func() { s.e.Close() }()
	enginetest.Run(t, enginetest.Harness{
		Node:    s.node,
		Restart: s.restart,
		Durable: false,
		Wipe: func(t *testing.T) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.e.Wipe()
		},
	})
}
