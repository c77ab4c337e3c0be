package clustertest

import (
	"fmt"
	"testing"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// sharedMemory is a node's client of one MemoryEngine shared by the
// nodes of a test; closing it leaves the store alone.
type sharedMemory struct{ *hub.MemoryEngine }

func (sharedMemory) Close() error { return nil }

// TestClusterMemory runs the cluster scenario on the in-memory engine
// shared within the process, smaller than the engines' runs: it checks
// the harness and the hub's engine-backed topics under the race detector.
func TestClusterMemory(t *testing.T) {
	store := hub.NewMemoryEngine()
	defer store.Close()
	res := Run(t, &Options{
		Engine:  func(testing.TB) hub.Engine { return sharedMemory{store} },
		PerNode: 500,
		Hop:     60,
	})
	t.Logf("%+v", res)
}

// TestRestartMemory: a node on the in-memory default killed and started
// again has a new log: each client of every transport gets one reset and
// then the entries published after the restart.
func TestRestartMemory(t *testing.T) {
	Restart(t, &RestartOptions{
		Engine:    func(testing.TB) hub.Engine { return hub.NewMemoryEngine() },
		WantReset: true,
	})
}

// TestWipeMemory: the shared in-memory store wiped under three nodes:
// every client of every transport gets one reset, then the new entries;
// also when nothing is published until the resets came.
func TestWipeMemory(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		t.Run(fmt.Sprintf("quiet=%v", quiet), func(t *testing.T) {
			store := hub.NewMemoryEngine()
			defer store.Close()
			res := Wipe(t, &WipeOptions{
				Engine: func(testing.TB) hub.Engine { return sharedMemory{store} },
				Wipe:   func(testing.TB) { store.Wipe() },
				Quiet:  quiet,
			})
			t.Logf("%+v", res)
		})
	}
}
