// Package deflate compresses and decompresses WebSocket messages for
// permessage-deflate (RFC 7692) with DEFLATE (RFC 1951), keeping no more
// per connection than the negotiated LZ77 window.
//
// An Encoder compresses the messages one end sends and a Decoder inflates
// the messages it receives; a connection with permessage-deflate has one
// of each. Both are written for this package, from RFC 1951: the encoder
// finds matches greedily through a hash of 5 bytes (two positions probed
// per step, each match verified on 4 bytes and extended backwards), and
// codes each block of up to 65535 bytes with dynamic Huffman codes, the
// fixed codes or no compression, whichever is shortest; the decoder uses
// two-level decoding tables and accepts exactly what compress/flate
// accepts. Each message ends with the sync flush RFC 7692 §7.2.1 asks for,
// its final 00 00 ff ff left out, and TrimSyncTail removes that tail from
// the output of other compressors.
//
//	var enc deflate.Encoder // 15-bit window, context takeover
//	payload := enc.AppendMessage(buf[:0], msg)
//
//	var dec deflate.Decoder
//	msg, err := dec.AppendMessage(out[:0], payload, readLimit)
//
// # Memory
//
// With context takeover (RFC 7692 §7.1.1), an idle Encoder keeps the last
// 2^bits bytes it compressed and an idle Decoder the last 2^bits bytes it
// inflated (512 for 8 bits, see Decoder.Reset); without it they keep
// nothing. The Encoder is 72 bytes and the Decoder 80 (an 80-byte heap
// slot each). Heap held per idle Encoder or Decoder after one message, as
// TestEncoderIdleMemory and TestDecoderIdleMemory measure it:
//
//	window bits   Encoder, takeover   Decoder, takeover   no takeover
//	8                           340                 592            80
//	9 .. 15             80 + 2^bits         80 + 2^bits            80
//	15                       32,848              32,849            80
//
// so a connection that compresses both ways with context takeover and
// 15-bit windows holds about 65,700 bytes for it. The history is
// allocated at the end of the first message.
//
// While a message is being compressed, the Encoder holds a scratch area of
// about 360 KiB (the history in front of the input, a hash table of 16384
// entries, the LZ77 steps of a block, Huffman work space), and while one
// is being inflated the Decoder holds about 125 KiB (32 KiB of history and
// 64 KiB of output, decoding tables, an input buffer). Both come from
// pools shared by all connections and go back when the message ends, so
// their number follows the messages in progress, not the connections. The
// scratch area is rebuilt from the history when a message starts, in
// proportion to the message: a 1 KiB message is compressed against the
// last 4 KiB of history (indexed at every third position), a 16 KiB one
// against 32 KiB. The inflater copies from the Decoder's window only as
// much as the message's back-references reach, in pieces of 4 KiB: a
// message that refers to no earlier one copies nothing, and adds its own
// bytes to the window when it ends.
//
// In steady state neither compressing nor inflating a message allocates,
// given a destination with room (MaxEncodedLen bounds an encoded message).
//
// # Concurrency
//
// An Encoder or a Decoder is used by one goroutine at a time; different
// ones may be used concurrently (the pools are safe for that). A message
// is open from its first Append (Begin for a Decoder) to Finish (io.EOF
// from Read); Abort drops it.
//
// # Limits
//
// Window sizes run from 8 to 15 bits (RFC 7692 §7.1.2); other values give
// ErrWindowBits. The Encoder never refers further back than the window it
// was given, 256 bytes for 8 bits included. The Decoder inflates a
// message to at most the limit given to Begin or AppendMessage and
// reports ErrLimit beyond it, having produced exactly the limit; it
// allocates nothing from what the data claims, only the window and,
// in AppendMessage, the destination as the output grows, never past the
// limit. A peer that refers further back than the window it agreed to is
// not detected when the bytes are there (within the message, or within a
// longer history); it is an ErrCorrupt when they are not.
//
// # Security
//
// Compressed data is untrusted input: the Decoder bounds output by the
// limit and CPU by the input and output, fails on anything RFC 1951 does
// not allow with ErrCorrupt, and never panics. Pooled scratch space never
// carries one connection's bytes into another's output: table entries of
// earlier messages lie outside every window, and bytes before a message's
// history are never read.
//
// Compression with context takeover puts every message of a connection in
// one LZ77 window, so the size of a compressed message reveals how much it
// shares with the earlier ones. When an attacker can both place chosen
// text in messages and observe their sizes, secrets sent on the same
// connection are exposed as with CRIME and BREACH; such connections should
// not compress secrets, or should not use context takeover.
package deflate
