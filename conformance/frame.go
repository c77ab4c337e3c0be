package conformance

import (
	"bytes"
	"math/rand/v2"

	"github.com/pushwire/pushwire/wsproto/frame"
)

// The harness's vocabulary for frames, on package frame's codec: it writes
// headers with PutHeader (which writes reserved bits, reserved opcodes and
// oversized control frames as asked) and masks with Mask.

type opcode = frame.Opcode

const (
	opCont   = frame.OpContinuation
	opText   = frame.OpText
	opBinary = frame.OpBinary
	opClose  = frame.OpClose
	opPing   = frame.OpPing
	opPong   = frame.OpPong
)

// rsv1 is the "Per-Message Compressed" bit of RFC 7692 in its wire
// position.
const rsv1 = frame.Rsv1

// frameSpec is one frame as a case sends it, legal or not, with Autobahn's
// sending options.
type frameSpec struct {
	op  opcode
	fin bool
	// rsv is the 3-bit RSV field as Autobahn numbers it: 4 is RSV1, 2 is
	// RSV2, 1 is RSV3 (so Autobahn's case 3.1, rsv=1, sets RSV3).
	rsv     byte
	payload []byte
	// repeat, when positive, makes the payload that many bytes: payload
	// repeated and cut (Autobahn's payload_len).
	repeat int
	// chop writes the frame's bytes in TCP writes of chop bytes, each after
	// a short pause (Autobahn's chopsize).
	chop int
	// sync writes the frame in its own TCP write, after a short pause
	// (Autobahn's sync).
	sync bool
	// length, when non-zero, is written as the payload length instead of
	// the real one; -1 writes a 64-bit length with its most significant
	// bit set.
	length int64
	// mask overrides the role's masking.
	mask maskMode
}

type maskMode int8

const (
	maskDefault maskMode = iota // a client masks, a server does not
	maskOn
	maskOff
)

// body returns the payload the frame carries.
func (f *frameSpec) body() []byte {
	if f.repeat <= 0 || len(f.payload) == 0 {
		return f.payload
	}
	return repeatTo(f.payload, f.repeat)
}

// repeatTo returns p repeated and cut to n bytes.
func repeatTo(p []byte, n int) []byte {
	out := bytes.Repeat(p, n/len(p)+1)
	return out[:n]
}

// newMask returns a random masking key.
func newMask(rng *rand.Rand) [4]byte {
	k := rng.Uint32()
	return [4]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
}

// appendFrame appends the wire bytes of f, masked when masked (the role's
// default, which f.mask may override), and returns them with the payload.
func appendFrame(dst []byte, f *frameSpec, masked bool, rng *rand.Rand) []byte {
	p := f.body()
	h := frame.Header{Fin: f.fin, Rsv: f.rsv << 4 & 0x70, Opcode: f.op, Length: int64(len(p)), Masked: masked}
	switch {
	case f.length < 0:
		h.Length = -1 << 62 // PutHeader writes a negative length as 64 bits, MSB set
	case f.length > 0:
		h.Length = f.length
	}
	switch f.mask {
	case maskOn:
		h.Masked = true
	case maskOff:
		h.Masked = false
	}
	if h.Masked {
		h.Mask = newMask(rng)
	}
	dst = frame.AppendHeader(dst, h)
	start := len(dst)
	dst = append(dst, p...)
	if h.Masked {
		frame.Mask(h.Mask, 0, dst[start:])
	}
	return dst
}

// frameHeader returns the header of a frame whose payload the case sends
// separately (Autobahn's beginMessageFrame): FIN clear, as Autobahn writes
// it, and the masking key the payload must be masked with.
func frameHeader(op opcode, rsv byte, length int64, masked bool, rng *rand.Rand) ([]byte, [4]byte) {
	h := frame.Header{Opcode: op, Rsv: rsv << 4 & 0x70, Length: length, Masked: masked}
	if masked {
		h.Mask = newMask(rng)
	}
	return frame.AppendHeader(nil, h), h.Mask
}

// maskAt masks (or unmasks) p as the bytes at offset pos of a payload.
func maskAt(key [4]byte, pos int, p []byte) { frame.Mask(key, pos, p) }

// closeCode builds a close payload with code and reason, without checking
// either, so that invalid codes can be sent.
func closeCode(code int, reason string) []byte {
	return append([]byte{byte(code >> 8), byte(code)}, reason...)
}

// fragmentsOf splits a message of type op into frames as Autobahn's
// sendMessage does with a fragment size: pieces of size bytes, the first
// with op (and rsv), the rest continuation frames. Like Autobahn, a payload
// that is an exact multiple of size ends with an empty final frame; one no
// longer than size is sent whole.
func fragmentsOf(op opcode, rsv byte, p []byte, size int) []frameSpec {
	if size <= 0 || len(p) <= size {
		return []frameSpec{{op: op, fin: true, rsv: rsv, payload: p}}
	}
	var fs []frameSpec
	for i := 0; ; i += size {
		j, done := i+size, false
		if j > len(p) {
			j, done = len(p), true
		}
		f := frameSpec{op: opCont, fin: done, payload: p[i:j]}
		if i == 0 {
			f.op, f.rsv = op, rsv
		}
		fs = append(fs, f)
		if done {
			return fs
		}
	}
}

// header reading

// maxHeader is the size of the largest frame header.
const maxHeader = frame.MaxHeaderSize

func headerSize(b []byte) int { return frame.HeaderSize(b) }

func parseHeader(b []byte) (frame.Header, error) { return frame.ParseHeader(b) }

// closeCodeValid reports whether a close frame may carry code: the codes
// RFC 6455 §7.4 defines or leaves to applications, and 1012-1014 of the
// IANA registry.
func closeCodeValid(code int) bool { return frame.CloseCode(code).Sendable() }

// utf8Validator validates UTF-8 incrementally, across frames.
type utf8Validator = frame.UTF8Validator
