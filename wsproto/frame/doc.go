// Package frame is the WebSocket frame codec of RFC 6455 §5, on its own: the
// frame header with its 2-, 4- and 10-byte length encodings and masking key
// (Header, ParseHeader, ReadHeader, PutHeader, AppendHeader), the checks a
// receiver applies to a header (CheckHeader), masking (Mask), opcodes,
// close codes and close-frame payloads (§5.5.1, §7.4), and incremental UTF-8
// validation (§8.1) that fails on the first byte that can start no valid
// sequence.
//
// It knows nothing of connections, handshakes or extensions beyond the RSV
// bits they may define. Package wsproto builds its connections on it; the
// conformance harness and the fuzzers use it to build and take apart frames,
// including illegal ones: PutHeader writes whatever a Header holds, and
// checking is separate from decoding.
//
// # Concurrency
//
// Functions are safe to call from any number of goroutines. A UTF8Validator
// holds the state of one stream of bytes and is for one goroutine at a time.
//
// # Limits
//
// Nothing here allocates in proportion to a length read from the wire:
// ParseHeader decodes a 64-bit length without acting on it, and callers decide
// how much to buffer. A close reason is at most MaxCloseReason bytes.
//
// # Security
//
// ParseHeader rejects a 64-bit length with its most significant bit set
// (RFC 6455 §5.2), so a Length is never negative. CheckHeader enforces the
// masking direction, reserved opcodes and bits, and the control-frame limits
// that a receiver must check before reading a payload. CloseError.Error
// quotes a peer's reason that holds non-printable characters.
package frame
