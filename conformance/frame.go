package conformance

import (
	"math/rand/v2"
	"time"

	"github.com/pushwire/pushwire/wsproto/frame"
)

// wsFrame is one WebSocket frame as the harness writes it: legal or not.
// The harness encodes the header with frame.AppendHeader, which writes
// reserved bits, reserved opcodes and oversized control frames as asked.
type wsFrame struct {
	Fin     bool
	Rsv     byte // RSV bits in wire position (frame.Rsv1...)
	Opcode  frame.Opcode
	Payload []byte
	// Mask overrides the role's masking: maskDefault follows the role
	// (a client masks, a server does not), maskOn and maskOff force it.
	Mask maskMode
	// Length, when non-zero, is written as the header's payload length
	// instead of len(Payload) (negative: a 64-bit length with the most
	// significant bit set).
	Length int64
}

type maskMode int8

const (
	maskDefault maskMode = iota
	maskOn
	maskOff
)

// chopSpec says how the bytes of a send are split into TCP writes: in pieces
// of Size bytes (0: one write), with Pause between pieces.
type chopSpec struct {
	Size  int
	Pause time.Duration
}

// encodeFrames returns the wire bytes of frames. masked is the role's
// default; keys come from rng.
func encodeFrames(frames []wsFrame, masked bool, rng *rand.Rand) []byte {
	var out []byte
	for _, f := range frames {
		h := frame.Header{Fin: f.Fin, Rsv: f.Rsv, Opcode: f.Opcode, Length: int64(len(f.Payload))}
		if f.Length != 0 {
			h.Length = f.Length
		}
		h.Masked = masked
		switch f.Mask {
		case maskOn:
			h.Masked = true
		case maskOff:
			h.Masked = false
		}
		if h.Masked {
			k := rng.Uint32()
			h.Mask = [4]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
		}
		out = frame.AppendHeader(out, h)
		start := len(out)
		out = append(out, f.Payload...)
		if h.Masked {
			frame.Mask(h.Mask, 0, out[start:])
		}
	}
	return out
}

// text and binary build single-frame data messages.
func text(p []byte) wsFrame   { return wsFrame{Fin: true, Opcode: frame.OpText, Payload: p} }
func binary(p []byte) wsFrame { return wsFrame{Fin: true, Opcode: frame.OpBinary, Payload: p} }
func ping(p []byte) wsFrame   { return wsFrame{Fin: true, Opcode: frame.OpPing, Payload: p} }
func pong(p []byte) wsFrame   { return wsFrame{Fin: true, Opcode: frame.OpPong, Payload: p} }

// closeFrame builds a close frame with the raw payload p.
func closeFrame(p []byte) wsFrame { return wsFrame{Fin: true, Opcode: frame.OpClose, Payload: p} }

// closeCode builds a close payload with code and reason, without checking
// either, so that invalid codes can be sent.
func closeCode(code int, reason string) []byte {
	return append([]byte{byte(code >> 8), byte(code)}, reason...)
}

// fragments splits a message of type op into frames of the given sizes;
// the last frame takes the rest.
func fragments(op frame.Opcode, p []byte, size int) []wsFrame {
	var fs []wsFrame
	for first := true; first || len(p) > 0; first = false {
		n := min(size, len(p))
		f := wsFrame{Opcode: frame.OpContinuation, Payload: p[:n]}
		if first {
			f.Opcode = op
		}
		p = p[n:]
		f.Fin = len(p) == 0
		fs = append(fs, f)
	}
	return fs
}
