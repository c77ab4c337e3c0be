// Package peers holds interop tests and side-by-side benchmarks of pushwire
// against other WebSocket and Server-Sent Events implementations:
// gorilla/websocket, coder/websocket, gobwas/ws, lxzan/gws and tmaxmax/go-sse
// in Go, and Python websockets and Node ws as external processes.
//
// It is a separate module so that pushwire's own module keeps no dependency
// beyond the standard library. Every implementation is wrapped by an Impl that
// gives the tests one Conn interface (a background reader delivers messages,
// pongs and close frames on channels) and gives the benchmarks each library's
// plain, idiomatic echo server and client read loop. ConformPeers gives
// pushwire's conformance harness every implementation in both roles — an
// echo server and an echoing client, the Go ones in process, Python
// websockets and Node ws as processes — with a statement of its echo app;
// cmd/conform-peers grades them all and writes conformance/SUMMARY.md.
//
// # Concurrency
//
// A Conn's methods may be called from one test goroutine while its own
// background reader runs; Conn serializes the writes a library needs
// serialized.
//
// # Limits
//
// Test connections accept messages up to MaxMessage (64 MiB). Every blocking
// call takes a context or a bounded timeout.
//
// # Security
//
// Servers here skip the origin check and have no read limit worth the name:
// they are test fixtures for loopback only and must not face a network.
package peers
