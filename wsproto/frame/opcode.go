package frame

import "strconv"

// Opcode is the 4-bit opcode of a frame, the low nibble of its first byte
// (RFC 6455 §5.2). It says how to interpret the payload.
type Opcode byte

// The opcodes defined by RFC 6455 §5.2 and §11.8. Data frames have the high
// bit of the nibble clear, control frames (§5.5) have it set.
const (
	OpContinuation Opcode = 0x0 // continues a fragmented data message (§5.4)
	OpText         Opcode = 0x1 // first frame of a UTF-8 text message
	OpBinary       Opcode = 0x2 // first frame of a binary message
	OpClose        Opcode = 0x8 // connection close (§5.5.1)
	OpPing         Opcode = 0x9 // ping (§5.5.2)
	OpPong         Opcode = 0xA // pong (§5.5.3)
)

// IsControl reports whether o is a control opcode (0x8-0xF), including the
// reserved ones (RFC 6455 §5.5: "Control frames are identified by opcodes
// where the most significant bit of the opcode is 1").
func (o Opcode) IsControl() bool { return o&0x8 != 0 }

// IsReserved reports whether o is not defined by RFC 6455: 0x3-0x7 (reserved
// for further non-control frames), 0xB-0xF (reserved for further control
// frames) and, since an opcode has 4 bits, any value above 0xF.
func (o Opcode) IsReserved() bool {
	switch o {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
		return false
	}
	return true
}

// String returns the opcode's name: "continuation", "text", "binary",
// "close", "ping", "pong", "reserved(0x3)" for reserved 4-bit values, and
// "invalid(0x1f)" for values that do not fit in 4 bits.
func (o Opcode) String() string {
	switch o {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	if o > 0xF {
		return "invalid(0x" + strconv.FormatUint(uint64(o), 16) + ")"
	}
	return "reserved(0x" + strconv.FormatUint(uint64(o), 16) + ")"
}
