package clustertest

import (
	"testing"

	"github.com/pushwire/pushwire/hub"
)

// BenchmarkMemory is the publish-to-delivery benchmark on the in-memory
// engine shared within the process: the baseline for the engines' runs.
func BenchmarkMemory(b *testing.B) {
	store := hub.NewMemoryEngine()
	defer store.Close()
	Bench(b, func(*testing.B) hub.Engine { return sharedMemory{store} })
}
