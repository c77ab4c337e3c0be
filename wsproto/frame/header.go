package frame

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// The reserved bits RSV1, RSV2 and RSV3 in their wire position in the first
// byte of a frame (RFC 6455 §5.2). Extensions give them a meaning; RFC 7692
// (permessage-deflate) uses Rsv1 as the "Per-Message Compressed" bit.
const (
	Rsv1 byte = 0x40
	Rsv2 byte = 0x20
	Rsv3 byte = 0x10
)

// MaxHeaderSize is the size of the largest frame header: 2 bytes, 8 bytes of
// extended payload length and a 4-byte masking key (RFC 6455 §5.2).
const MaxHeaderSize = 14

// Wire layout of the first two bytes of a frame (RFC 6455 §5.2).
const (
	bitFin     = 0x80 // byte 0: FIN
	bitsRsv    = 0x70 // byte 0: RSV1, RSV2, RSV3
	bitsOpcode = 0x0F // byte 0: opcode
	bitMask    = 0x80 // byte 1: MASK
	bitsLen7   = 0x7F // byte 1: payload length, or 126 / 127

	len16 = 126 // the payload length follows as a 16-bit unsigned integer
	len64 = 127 // the payload length follows as a 64-bit unsigned integer
)

// Header is a decoded frame header (RFC 6455 §5.2). Its zero value is an
// unmasked, non-final continuation frame with an empty payload.
type Header struct {
	// Fin is set on the final fragment of a message.
	Fin bool
	// Rsv holds RSV1-RSV3 in their wire position (see Rsv1, Rsv2, Rsv3);
	// only the bits 0x70 may be set.
	Rsv byte
	// Opcode is the 4-bit opcode.
	Opcode Opcode
	// Masked is set when the payload is masked with Mask (RFC 6455 §5.3).
	Masked bool
	// Mask is the masking key; it is meaningful only when Masked is set.
	Mask [4]byte
	// Length is the payload length in bytes, 0 to 1<<63-1.
	Length int64
}

// Size returns the size of h's encoding by PutHeader: 2, 4 or 10 bytes
// depending on Length, plus 4 when Masked. A negative Length counts as a
// 64-bit length (see PutHeader).
func (h Header) Size() int {
	n := 2
	switch l := uint64(h.Length); {
	case l > math.MaxUint16:
		n = 10
	case l > 125:
		n = 4
	}
	if h.Masked {
		n += 4
	}
	return n
}

// PutHeader writes the wire encoding of h to the start of b and returns the
// number of bytes written, h.Size(). It panics if len(b) < h.Size(), like
// binary.BigEndian.PutUint64; MaxHeaderSize bytes are always enough.
//
// The payload length uses the shortest of the three encodings, as RFC 6455
// §5.2 requires: "in all cases, the minimal number of bytes MUST be used to
// encode the length". Bits of Rsv outside 0x70 and bits of Opcode above the
// low four are ignored. PutHeader does not check h against the protocol (use
// CheckHeader for that): it writes reserved opcodes, reserved bits and, for a
// negative Length, a 64-bit length with the most significant bit set, so that
// conformance tests can produce such frames.
func PutHeader(b []byte, h Header) int {
	n := h.Size()
	_ = b[n-1] // one bounds check, and no partial write when b is short

	b0 := h.Rsv&bitsRsv | byte(h.Opcode)&bitsOpcode
	if h.Fin {
		b0 |= bitFin
	}
	var b1 byte
	if h.Masked {
		b1 = bitMask
	}
	b[0] = b0
	p := 2
	switch l := uint64(h.Length); {
	case l <= 125:
		b[1] = b1 | byte(l)
	case l <= math.MaxUint16:
		b[1] = b1 | len16
		binary.BigEndian.PutUint16(b[2:4], uint16(l))
		p = 4
	default:
		b[1] = b1 | len64
		binary.BigEndian.PutUint64(b[2:10], l)
		p = 10
	}
	if h.Masked {
		copy(b[p:p+4], h.Mask[:])
	}
	return n
}

// AppendHeader appends the wire encoding of h, as written by PutHeader, to
// dst and returns the extended slice.
func AppendHeader(dst []byte, h Header) []byte {
	var buf [MaxHeaderSize]byte
	n := PutHeader(buf[:], h)
	return append(dst, buf[:n]...)
}

// HeaderSize returns the total size of the frame header at the start of b,
// read off its first two bytes: 2, 4 or 10 bytes depending on the 7-bit
// payload length, plus 4 when the MASK bit is set (RFC 6455 §5.2). It is the
// number of bytes to have before calling ParseHeader. With fewer than 2
// bytes in b it returns 2.
func HeaderSize(b []byte) int {
	if len(b) < 2 {
		return 2
	}
	b1 := b[1]
	n := 2
	switch b1 & bitsLen7 {
	case len16:
		n = 4
	case len64:
		n = 10
	}
	if b1&bitMask != 0 {
		n += 4
	}
	return n
}

// ParseHeader decodes the frame header at the start of b, which must hold at
// least HeaderSize(b) bytes; with fewer it returns an error wrapping
// io.ErrUnexpectedEOF. Bytes after the header are ignored. The header
// occupies HeaderSize(b) bytes of b, which differs from h.Size() when
// the sender used a longer length encoding than needed.
//
// ParseHeader only decodes. It accepts non-minimal length encodings (the
// MUST of RFC 6455 §5.2 binds the sender) and leaves the rules that depend on
// the negotiated extensions, the endpoint's role or the connection's state
// to CheckHeader and the caller. Its one check is on the 64-bit length, whose
// most significant bit must be 0; a violation wraps ErrProtocol.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < 2 {
		return Header{}, fmt.Errorf("wsproto: frame header needs at least 2 bytes, have %d: %w", len(b), io.ErrUnexpectedEOF)
	}
	if n := HeaderSize(b); len(b) < n {
		return Header{}, fmt.Errorf("wsproto: frame header needs %d bytes, have %d: %w", n, len(b), io.ErrUnexpectedEOF)
	}
	h := Header{
		Fin:    b[0]&bitFin != 0,
		Rsv:    b[0] & bitsRsv,
		Opcode: Opcode(b[0] & bitsOpcode),
		Masked: b[1]&bitMask != 0,
	}
	p := 2
	switch l := b[1] & bitsLen7; l {
	case len16:
		h.Length = int64(binary.BigEndian.Uint16(b[2:4]))
		p = 4
	case len64:
		l := binary.BigEndian.Uint64(b[2:10])
		// RFC 6455 §5.2: "If 127, the following 8 bytes interpreted as a
		// 64-bit unsigned integer (the most significant bit MUST be 0) are
		// the payload length."
		if l > math.MaxInt64 {
			return Header{}, fmt.Errorf("%w: 64-bit payload length %#x has its most significant bit set", ErrProtocol, l)
		}
		h.Length = int64(l)
		p = 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		copy(h.Mask[:], b[p:p+4])
	}
	return h, nil
}

// ReadHeader reads exactly one frame header from r, using scratch as its
// buffer, and decodes it with ParseHeader. It reads no byte past the header
// and allocates nothing. It returns io.EOF if r ends before the first byte
// and io.ErrUnexpectedEOF if r ends inside the header; other read errors are
// returned as they are.
func ReadHeader(r io.Reader, scratch *[MaxHeaderSize]byte) (Header, error) {
	if _, err := io.ReadFull(r, scratch[:2]); err != nil {
		return Header{}, err
	}
	n := HeaderSize(scratch[:2])
	if _, err := io.ReadFull(r, scratch[2:n]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Header{}, err
	}
	return ParseHeader(scratch[:n])
}

// Sender names the endpoint that sent a frame, for CheckHeader. RFC 6455
// §5.1: a client masks every frame it sends, a server masks none.
type Sender uint8

// The two senders.
const (
	FromClient Sender = iota + 1 // a server checks its client's frames: they must be masked
	FromServer                   // a client checks its server's frames: they must not be masked
)

// CheckHeader checks a received header h against the rules of RFC 6455 §5.1,
// §5.2, §5.4 and §5.5 that need no connection state. rsvAllowed holds the
// RSV bits the negotiated extensions define: 0 without extensions, Rsv1 with
// permessage-deflate. from is the endpoint that sent the frame; any other
// value than FromClient and FromServer is treated as FromServer.
//
// When rsvAllowed has Rsv1, CheckHeader applies RFC 7692 §6 to it: RSV1 is
// rejected on control frames and on continuation frames (which are never the
// first fragment). That RSV1 appears only on the first frame of a message,
// and that continuation frames continue something, the caller checks.
//
// Every error wraps ErrProtocol and names the rule that was broken.
func CheckHeader(h Header, rsvAllowed byte, from Sender) error {
	wantMasked := from == FromClient
	// RFC 6455 §5.2: "If an unknown opcode is received, the receiving
	// endpoint MUST _Fail the WebSocket Connection_."
	if h.Opcode.IsReserved() {
		return fmt.Errorf("%w: reserved opcode %#x", ErrProtocol, byte(h.Opcode))
	}
	// RFC 6455 §5.2: RSV1-3 "MUST be 0 unless an extension is negotiated
	// that defines meanings for non-zero values. If a nonzero value is
	// received and none of the negotiated extensions defines the meaning of
	// such a nonzero value, the receiving endpoint MUST _Fail the WebSocket
	// Connection_."
	if bad := h.Rsv &^ (rsvAllowed & bitsRsv); bad != 0 {
		return fmt.Errorf("%w: reserved bits %#02x set without an extension that defines them", ErrProtocol, bad)
	}
	// RFC 7692 §6: "An endpoint MUST NOT set the "Per-Message Compressed"
	// bit of control frames and non-first fragments of a data message. An
	// endpoint receiving such a frame MUST _Fail the WebSocket Connection_."
	if h.Rsv&Rsv1 != 0 && (h.Opcode.IsControl() || h.Opcode == OpContinuation) {
		return fmt.Errorf("%w: RSV1 (per-message compressed) set on a %v frame", ErrProtocol, h.Opcode)
	}
	if h.Masked != wantMasked {
		if wantMasked {
			// RFC 6455 §5.1: "The server MUST close the connection upon
			// receiving a frame that is not masked."
			return fmt.Errorf("%w: frame from client is not masked", ErrProtocol)
		}
		// RFC 6455 §5.1: "A client MUST close a connection if it detects a
		// masked frame."
		return fmt.Errorf("%w: frame from server is masked", ErrProtocol)
	}
	// RFC 6455 §5.2: "the most significant bit MUST be 0" (only a Header
	// built by hand, not one from ParseHeader, can have a negative Length).
	if h.Length < 0 {
		return fmt.Errorf("%w: negative payload length %d", ErrProtocol, h.Length)
	}
	if h.Opcode.IsControl() {
		// RFC 6455 §5.5: "All control frames MUST have a payload length of
		// 125 bytes or less and MUST NOT be fragmented."
		if h.Length > 125 {
			return fmt.Errorf("%w: %v frame has a payload of %d bytes, more than 125", ErrProtocol, h.Opcode, h.Length)
		}
		// RFC 6455 §5.4: "Control frames themselves MUST NOT be
		// fragmented."
		if !h.Fin {
			return fmt.Errorf("%w: %v frame is fragmented (FIN not set)", ErrProtocol, h.Opcode)
		}
	}
	return nil
}
