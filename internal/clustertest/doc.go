// Package clustertest runs pushwire nodes that share a hub engine and
// clients of every transport against them: the scenarios every engine
// module runs (Run: 3 nodes, publishers on each, WebSocket, SSE, long-poll
// and NDJSON clients hopping between nodes, one node killed or a fault of
// the store; Restart: a node killed and started again; Wipe: the store
// wiped under running nodes) and the publish-to-delivery benchmark
// (Bench). It is test support, shared by the engine
// modules, and imports only the standard library and pushwire.
//
// # Concurrency
//
// A Client belongs to one goroutine; its count of entries may be read from
// another while it reads. Nodes are safe for concurrent use.
//
// # Limits
//
// Runs bound themselves with timeouts (three minutes for Run by default,
// two for Restart and Wipe, five for each benchmark); every connection is
// to loopback.
//
// # Security
//
// Test support only: it trusts the servers it starts.
package clustertest
