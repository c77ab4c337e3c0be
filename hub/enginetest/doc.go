// Package enginetest is the conformance suite of hub.Engine: every engine
// runs it from its own tests, with a Harness that starts nodes on its
// shared store, restarts it and wipes it.
//
//	func TestEngine(t *testing.T) {
//		enginetest.Run(t, enginetest.Harness{
//			Node:    func(t *testing.T) hub.Engine { return connect(t) },
//			Restart: restartServer,
//			Durable: true,
//			Wipe:    deleteEveryStream,
//		})
//	}
//
// The suite checks what hub relies on: the engine's order is one order for
// every node, exactly once under concurrent publishers on several nodes,
// gaps after trimming with the exact count lost, an epoch that survives a
// restart of a durable store and changes when the store is wiped or loses
// its logs, idempotent retries, bounded logs and bounded node memory, and
// no goroutine left behind by a closed node. It drives both the raw
// EngineLog and hub.OpenTopic in front of it, so that the node side (one
// tail per topic feeding local readers) is checked on every engine.
//
// The package uses the standard library only.
//
// # Concurrency
//
// Run runs its cases one after the other; each case makes its own nodes
// and uses topics of its own, named with characters that need mapping
// (dots, spaces, wildcards, slashes, non-ASCII), so that engines prove
// their name mapping too.
//
// # Limits
//
// The heaviest cases publish 1,800 entries from three nodes and relay
// about 10 MB through a topic bounded to 256 KiB; Harness.Scale shrinks
// them. Every case bounds itself with a timeout of one to three minutes.
//
// # Security
//
// The suite checks that topic names with NATS wildcards, dots, slashes
// and NUL bytes stay apart, so that an engine cannot be led by a client's
// topic name into another log.
package enginetest
