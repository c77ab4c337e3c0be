// Package wsproto implements the WebSocket protocol (RFC 6455): the frame
// codec, the connection with its messages, control frames and closing
// handshake, and the server and client entry points Accept and Dial.
//
// A server accepts a connection in an HTTP handler and reads and writes
// whole messages:
//
//	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
//		c, err := wsproto.Accept(w, r, nil)
//		if err != nil {
//			return // Accept has answered the request
//		}
//		defer c.CloseNow()
//		var buf []byte
//		for {
//			typ, msg, err := c.Read(r.Context(), buf)
//			if err != nil {
//				return
//			}
//			if err := c.Write(r.Context(), typ, msg); err != nil {
//				return
//			}
//			buf = msg
//		}
//	})
//
// A client dials a URL:
//
//	c, _, err := wsproto.Dial(ctx, "ws://127.0.0.1:9001/", nil)
//
// The codec pieces (Header, ParseHeader, PutHeader, Mask, CheckHeader,
// UTF8Validator, ParseClosePayload) are exported for conformance tools and
// fuzzers that need to build or take apart frames, legal or not.
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
// # Limits
//
// A message longer than the read limit (DefaultReadLimit, 1 MiB, unless
// AcceptOptions.ReadLimit, DialOptions.ReadLimit or Conn.SetReadLimit say
// otherwise) fails the connection with close code 1009 as soon as a frame
// header announces it, before its payload is read. The closing handshake is
// bounded by DefaultCloseTimeout (5 s) unless the options say otherwise, and
// Dial's handshake by DefaultHandshakeTimeout (30 s).
//
// Memory: an idle connection holds its Conn (a 256-byte read array
// included) and no other buffer. While data flows, reads use a pooled
// 16 KiB buffer that goes back to the pool when the input is drained, and
// payloads of 4 KiB or more are read straight into the destination. Writes
// send header and payload with one system call: copied behind the header
// up to 2 KiB, with writev above; client frames are masked into pooled
// 32 KiB buffers, never in the caller's slice.
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
package wsproto
