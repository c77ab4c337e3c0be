// Package conformance is pushwire's conformance harness for WebSocket
// (RFC 6455, RFC 7692) servers and clients and for Server-Sent Events
// (WHATWG HTML §9.2) servers and clients.
//
// # The WebSocket catalogue
//
// Categories 1 to 13 are Autobahn|Testsuite's 517 cases, case for case:
// the same ids, payloads, fragmentation, TCP write chops, timers and
// expected events, in both roles, so that a report compares line by line
// with an Autobahn report — 1.x framing, 2.x pings and pongs, 3.x reserved
// bits, 4.x reserved opcodes, 5.x fragmentation, 6.x UTF-8 (with Markus
// Kuhn's stress test as 6.5-6.23), 7.x close handling, 9.x limits and
// performance, 10.x auto-fragmentation, 12.x and 13.x permessage-deflate
// (1000 messages per case cut from five test files; see Options.TestData).
// pushwire's own cases have categories of their own: 15.x (the opening
// handshake, masking, 64-bit lengths, close codes 1012-1014, the read
// limit, a compression bomb) and 16.x (a UTF-8 decoder set built from the
// Unicode rules). Cases returns a role's list.
//
// # Running
//
// RunServer tests a server at a URL, one connection per case.
// FuzzingServer serves the cases to a client under test with the endpoints
// of Autobahn's fuzzing server (/getCaseCount, /runCase, /updateReports),
// so that clients written for Autobahn run unchanged. RunSSEServer checks
// an event stream; SSEClientServer serves event streams to an SSE client
// that reports what it dispatched.
//
// The harness writes and reads raw frames itself, with the frame codec of
// package wsproto/frame (headers, masking, opcodes, close payloads) and
// the opening handshake of package handshake, never with wsproto's Conn,
// so that it can send illegal frames, split frames into TCP writes of any
// size with pauses, and record everything the peer does. It does its own
// permessage-deflate with compress/flate. The SSE cases parse event
// streams with a reading of their own of WHATWG HTML §9.2.6, not with
// sseproto's Decoder, which is one of the implementations under test.
//
// Each WebSocket case runs over a stream obtained from a transport:
// RFC 6455 over TCP or TLS for ws:// and wss:// URLs, or WebSocket over
// HTTP/2 (RFC 8441) for https:// URLs, each case an extended CONNECT
// stream of shared HTTP/2 connections (internal/h2stream). The framing
// cases do not depend on the transport; the opening-handshake cases belong
// to one (15.1.x to HTTP/1.1, 15.6.x to HTTP/2). A FuzzingServer served
// over HTTP/2 answers extended CONNECT requests, so a client under test
// can run its cases over HTTP/2 too. Cases lists a Role's catalogue.
//
// # Grading
//
// Grading follows Autobahn: each case is graded twice, its behaviour and
// its close (who closed, the close code, a clean closing handshake), each
// OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED or FAILED. The harness
// waits for the events a case expects (with the case's timer), accepts data
// until the peer's close frame as RFC 6455 §5.5.1 allows, and never takes a
// pong as proof that an echo would already have arrived: a peer whose echo
// runs beside its protocol layer is graded as fairly as one that echoes in
// line. A FAILED grade names the RFC sentence that was broken. Where the
// harness departs from Autobahn it says so in the case's expectation (a
// peer that answers only the last of several pings is NON-STRICT, not
// FAILED; a peer that refuses a too-big message with 1009 is
// INFORMATIONAL). Options.Strict adds pushwire's stricter checks, which can
// only turn an OK into NON-STRICT, quoting the SHOULD that was not
// followed.
//
// Report.WriteDir writes index.json (in Autobahn's layout), one JSON file
// per case with its events, and a self-contained index.html.
//
// # Concurrency
//
// RunServer and RunSSEServer run up to Options.Parallel cases at once,
// each on its own connection, and may be called concurrently. A
// FuzzingServer and an SSEClientServer are http.Handlers safe for
// concurrent use; clients may run cases in parallel. Options.Progress
// calls are serialized. Each WebSocket case runs on one goroutine (its
// script, the protocol and the timers, like Autobahn's reactor) with a
// reader and a writer goroutine beside it.
//
// # Limits
//
// Every case ends: each sets a timer (Autobahn's killAfter or closeAfter,
// from 0.5 to 1000 time units), the closing handshake and the server's TCP
// close each get one unit, and a hard deadline five units after the last
// timer closes the connection whatever the peer does. The unit is
// Options.Timeout (DefaultTimeout, Autobahn's 1 s). From the peer the harness
// reads frames of up to 64 MiB and reassembles messages of up to 64 MiB,
// growing its buffers with the bytes that arrive, never with a length a
// header claims; it keeps at most 20,000 messages or 256 MiB per case for
// grading and 120 events per case for the report. Compressed messages
// inflate to at most 64 MiB (or Options.ReadLimit if larger).
//
// # Security
//
// The harness sends malformed input on purpose: point it only at
// implementations you are allowed to test. The fuzzing servers answer any
// client that connects; bind them to loopback. Input from the peer under
// test is bounded as said under Limits and never executed; reports escape
// it in HTML. FuzzHarness, the package's fuzz target, drives both roles
// against a scripted peer that sends arbitrary bytes, frames, closes and
// resets, and checks that every case is graded, in bounded time, with no
// panic and no goroutine left behind.
package conformance
