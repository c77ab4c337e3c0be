// Package h2stream gives the byte stream of one HTTP/2 stream opened by an
// extended CONNECT request (RFC 8441 §4) as a net.Conn, on the server side
// (Accept, in the handler of the request) and on the client side (Dial,
// over the HTTP/2 connections of an *http.Transport), with net/http's own
// HTTP/2 implementation. It knows nothing of what the request means: the
// WebSocket rules of RFC 8441 §5 are package handshake's, and wsproto runs
// a WebSocket over the Conn; the conformance harness can run its cases
// over it.
//
// A Conn's reads are the peer's DATA frames: the request body on the
// server, the response body on the client. Its writes are ours: the
// ResponseWriter, flushed per Write, or the request body. Closing the Conn
// ends the stream: on the client by closing the request body (END_STREAM)
// and the response body (RST_STREAM if the server's half is still open); on
// the server by letting the handler return, which is the only way net/http
// ends a response, so the handler waits for Done.
//
// # Concurrency
//
// A Conn's methods may be called from any number of goroutines, as the
// net.Conn contract asks; Reads are serialized among themselves, and so are
// Writes. Dial and Accept may be called concurrently. ServerEnabled is
// computed once per process.
//
// # Limits
//
// A Conn buffers at most one body read: 512 bytes of its own, or a pooled
// 16 KiB buffer for a large read while data flows (the last read filled
// its buffer), so an idle stream holds no pooled buffer. HTTP/2 flow
// control bounds what the peer can send ahead. A read deadline interrupts a
// waiting Read without ending the stream, because the read is done by a
// goroutine of the Conn (one per Conn, started by the first Read): net/http
// resets a stream whose own deadline passes. A write deadline that passes
// during a Write resets the stream, since bytes handed to HTTP/2 cannot be
// taken back; one that passes between writes only fails later Writes.
//
// # Security
//
// Dial sends nothing before the server's SETTINGS frame allowed extended
// CONNECT (net/http's HTTP/2 client waits for it, RFC 8441 §3), and holds a
// stream open only while its Conn is open. The server side inherits
// net/http's limits on streams and header sizes; the deadlines of
// http.Server (ReadTimeout, WriteTimeout) are lifted from an accepted stream,
// so its lifetime is the Conn's owner's to bound.
package h2stream
