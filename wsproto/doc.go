// Package wsproto implements WebSocket connections (RFC 6455): messages,
// control frames and the closing handshake over the frame codec of package
// wsproto/frame, and the server and client entry points Accept and Dial.
//
// A server accepts connections with Handler, which serves each one on a
// fresh goroutine and hands it the handshake request:
//
//	http.Handle("/echo", wsproto.Handler(nil, func(c *wsproto.Conn, r *http.Request) {
//		var buf []byte
//		for {
//			typ, msg, err := c.Read(r.Context(), buf)
//			if err != nil {
//				return // the peer's close arrives as a frame.CloseError
//			}
//			if err := c.Write(r.Context(), typ, msg); err != nil {
//				return
//			}
//			buf = wsproto.ReuseBuffer(msg) // keeps at most 64 KiB while idle
//		}
//	}))
//
// or with Accept in a handler of its own. A client dials a ws:// or wss://
// URL:
//
//	c, _, err := wsproto.Dial(ctx, "ws://127.0.0.1:9001/", nil)
//
// # Groups and heartbeats
//
// A Group is the set of connections a server broadcasts to: connections
// join it as they are accepted (AcceptOptions.Group) and leave it when they
// close, and Group.Broadcast sends one PreparedMessage to all of them, or to
// those a filter picks, without copying it and without waiting for slow
// peers, which it closes with a close code once their queue is full.
// Conn.BufferedAmount tells how much is queued for a connection. A
// PreparedMessage keeps its data: a message read into a reused buffer must be
// read into a fresh one (pass nil to Read) before it is broadcast.
//
// AcceptOptions.PingInterval and DialOptions.PingInterval turn on
// heartbeats: a ping every interval, and a connection closed when its peer
// does not answer within PongTimeout.
//
// # Compression
//
// permessage-deflate (RFC 7692) is off unless AcceptOptions.Compression or
// DialOptions.Compression is set. Dial then offers it and Accept takes the
// first offer it can honour (RFC 7692 §7.1); Conn.Extensions tells what was
// agreed. Messages of at least CompressionOptions.Threshold bytes (128 by
// default) are compressed with RSV1 set on their first frame and the
// trailing 00 00 ff ff removed (RFC 7692 §6, §7.2.1); WriteUncompressed
// sends one message as it is. Received messages with RSV1 are inflated
// (§7.2.2) and text is validated as UTF-8 after inflating.
//
// Context takeover (RFC 7692 §7.1.1) is used in each direction unless
// server_no_context_takeover or client_no_context_takeover was agreed. The
// codec is internal/deflate, written for this: with context takeover a
// connection keeps only each direction's LZ77 window between messages
// (2^bits bytes, 32 KiB at the default 15 bits), without it nothing; the
// compressor's and decompressor's work space comes from pools shared by
// all connections for the length of one message. A compressed message is
// inflated once all of it has arrived, so a peer that sends part of one
// and stops costs its compressed bytes, not a decompressor. Every window
// size is honoured (§7.1.2): messages sent never refer further back than
// the window the peer asked for. PreparedMessage compresses a broadcast
// message once per window size for connections without context takeover.
//
// Close codes and the CloseError a closed connection returns are defined in
// package wsproto/frame with the rest of the wire vocabulary (headers,
// opcodes, masking, UTF-8 validation), which conformance tools and fuzzers
// use to build or take apart frames, legal or not.
//
// # Concurrency
//
// Writes of any kind (Write, Writer, WritePrepared, Ping, Close) may come
// from any number of goroutines at once; frames never interleave inside a
// message. Reads (Read, Reader and the reader it returns) are for one
// goroutine at a time. Ping, pong and close frames from the peer are
// handled while a read is in progress, so a connection that must answer
// pings keeps a goroutine reading. Every blocking call takes a
// context.Context: a context that ends while a call waits for a message, or
// before a write sent any byte, returns ctx.Err() and leaves the connection
// usable; one that ends in the middle of a message ends the connection.
//
// A connection over HTTP/2 (RFC 8441; Accept of an extended CONNECT, or
// Dial with DialOptions.HTTPClient) behaves the same; its handler goroutine
// stays until the connection is closed, and a small goroutine reads the
// stream, so it costs two goroutines where HTTP/1.1 costs one.
//
// A Group is safe for concurrent use. Broadcast writes, from the calling
// goroutine, to every connection whose socket takes the message at once; a
// connection that cannot take it gets a goroutine that writes its queue and
// exits when the queue is empty. To a group of 1,024 connections or more,
// Broadcast writes from up to GOMAXPROCS goroutines at once (the calling
// one and helpers that end with the call), one per 512 connections. A heartbeat is a runtime timer per
// connection, whose function runs only to send a ping or to close a dead
// connection.
//
// # Limits
//
// A message longer than the read limit (1 MiB, unless
// AcceptOptions.ReadLimit, DialOptions.ReadLimit or Conn.SetReadLimit say
// otherwise) fails the connection with close code 1009 as soon as a frame
// header announces it, before its payload is read. A compressed message
// counts its inflated bytes against the limit as they are produced, so a
// small message that inflates to gigabytes fails with 1009 after at most
// the limit's worth of work and memory; its compressed bytes may take up
// to the limit plus 1/256 of it on the wire. The closing handshake is
// bounded by 5 s unless the options say otherwise, and Dial's handshake by
// 30 s. A Group queues at most GroupOptions.QueueLen (64) messages per
// connection, as pointers to messages shared by all, and bounds each write
// of a queued message by GroupOptions.WriteTimeout (10 s).
//
// Memory: an idle connection holds its Conn (a 120-byte read array
// included) and no other buffer (for compression state, see Compression).
// While data flows, reads use a pooled 16 KiB buffer that goes back to the
// pool when the input is drained and the last read did not fill it, and
// payloads of 4 KiB or more are read straight into the destination. Memory follows the bytes that arrived,
// never the length a frame header announces: Read fills the caller's
// buffer, then chunks as large as what arrived so far (16 KiB at most
// before the first payload byte, 1 MiB at most each), joined when the
// message is complete, so a peer that announces the read limit and sends
// one byte costs at most 16 KiB; a compressed message that inflates past
// the limit fails having held about the limit; ReuseBuffer keeps a reading
// loop from holding a large message's buffer while it waits. Writes
// send header and payload with one system call: copied behind the header
// up to 2 KiB, with writev above; client frames are masked into pooled
// 32 KiB buffers, never in the caller's slice. pushwire's echo server
// (internal/wsecho) also sends the replies to messages that arrived
// together in one write, held in a pooled buffer only until its reader
// would wait for input.
//
// # Security
//
// Accept refuses cross-origin requests unless AcceptOptions.OriginPatterns
// allows the origin (RFC 6455 §10.2): with the defaults, a page on another
// site cannot open a connection that carries the user's cookies. Every
// malformed frame fails the connection with the close code RFC 6455 names
// (1002 protocol error, 1007 invalid UTF-8, 1009 too big), text is
// validated as UTF-8 frame by frame so that an invalid byte fails the
// connection at once, and clients mask every frame with a fresh key from a
// ChaCha8 generator seeded from crypto/rand (RFC 6455 §5.3, §10.3).
// With compression, RSV1 on a continuation or control frame, or without
// the extension, fails with 1002 (RFC 7692 §6), a message that does not
// inflate with 1007, and a compression bomb with 1009 (see Limits).
// Compression of secrets next to attacker-chosen text in one message, or
// in one window with context takeover, can leak the secrets through the
// compressed size (the CRIME and BREACH attacks, RFC 7692 §9): send such
// messages with WriteUncompressed or negotiate no context takeover.
package wsproto
