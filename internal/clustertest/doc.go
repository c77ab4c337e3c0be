// Package clustertest runs pushwire nodes that share a hub engine and
// clients of every transport against them: the cluster test every engine
// module runs (3 nodes, publishers on each, WebSocket, SSE, long-poll and
// NDJSON clients hopping between nodes, one node killed) and the
// publish-to-delivery benchmark. It is test support, shared by the engine
// modules, and imports only the standard library and pushwire.
//
// # Concurrency
//
// A Client belongs to one goroutine; its count of entries may be read from
// another while it reads. Nodes are safe for concurrent use.
//
// # Limits
//
// Runs bound themselves with timeouts (three minutes for Run, two for
// Restart); every connection is to loopback.
//
// # Security
//
// Test support only: it trusts the servers it starts.
package clustertest
