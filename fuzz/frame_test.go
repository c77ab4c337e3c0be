package fuzz

import (
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// refHeader is a frame header as RFC 6455 §5.2 draws it, decoded here by
// reading the figure bit by bit, without sharing code with wsproto.
type refHeader struct {
	fin              bool
	rsv1, rsv2, rsv3 bool
	opcode           byte
	masked           bool
	length           uint64
	key              [4]byte
	size             int // header bytes
}

// refDecodeHeader returns ok=false when b is too short for the header.
func refDecodeHeader(b []byte) (h refHeader, ok bool) {
	if len(b) < 2 {
		return h, false
	}
	h.fin = b[0]>>7&1 == 1
	h.rsv1 = b[0]>>6&1 == 1
	h.rsv2 = b[0]>>5&1 == 1
	h.rsv3 = b[0]>>4&1 == 1
	h.opcode = b[0] & 0b1111
	h.masked = b[1]>>7&1 == 1
	// "Payload length: 7 bits, 7+16 bits, or 7+64 bits"
	n := b[1] & 0b0111_1111
	h.size = 2
	switch {
	case n <= 125:
		h.length = uint64(n)
	case n == 126:
		if len(b) < 4 {
			return h, false
		}
		h.length = uint64(b[2])<<8 | uint64(b[3])
		h.size = 4
	default:
		if len(b) < 10 {
			return h, false
		}
		for i := 2; i < 10; i++ {
			h.length = h.length<<8 | uint64(b[i])
		}
		h.size = 10
	}
	if h.masked {
		if len(b) < h.size+4 {
			return h, false
		}
		copy(h.key[:], b[h.size:h.size+4])
		h.size += 4
	}
	return h, true
}

// FuzzFrameHeader compares wsproto/frame's header codec with refDecodeHeader and
// checks that what it decodes it encodes back to a header that decodes the
// same.
func FuzzFrameHeader(f *testing.F) {
	for _, seed := range [][]byte{
		{0x81, 0x05},
		{0x82, 0xfe, 0x01, 0x00},
		{0x02, 0xff, 0, 0, 0, 1, 0, 0, 0, 0},
		{0x88, 0x82, 1, 2, 3, 4},
		{0xf9, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9},
		{0x81, 0x7e, 0x00, 0x05},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ref, ok := refDecodeHeader(b)
		if len(b) >= 2 {
			if got := frame.HeaderSize(b); ok && got != ref.size {
				t.Fatalf("HeaderSize(% x) = %d, reference %d", b[:2], got, ref.size)
			}
		}
		h, err := frame.ParseHeader(b)
		if !ok {
			if err == nil {
				t.Fatalf("ParseHeader(%x) accepted a header the reference finds too short", b)
			}
			return
		}
		// RFC 6455 §5.2: "the most significant bit MUST be 0".
		if ref.length>>63 == 1 {
			if !errors.Is(err, wsproto.ErrProtocol) {
				t.Fatalf("ParseHeader(%x) error = %v, want ErrProtocol for a 64-bit length with the top bit set", b, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseHeader(%x) error = %v, reference decodes %+v", b, err, ref)
		}
		rsv := byte(0)
		if ref.rsv1 {
			rsv |= frame.Rsv1
		}
		if ref.rsv2 {
			rsv |= frame.Rsv2
		}
		if ref.rsv3 {
			rsv |= frame.Rsv3
		}
		if h.Fin != ref.fin || h.Rsv != rsv || byte(h.Opcode) != ref.opcode || h.Masked != ref.masked ||
			uint64(h.Length) != ref.length || (ref.masked && h.Mask != ref.key) {
			t.Fatalf("ParseHeader(%x) = %+v, reference %+v", b, h, ref)
		}
		// Encoding uses the minimal length form; decoding it gives the
		// same header back.
		enc := frame.AppendHeader(nil, h)
		if len(enc) != h.Size() {
			t.Fatalf("AppendHeader wrote %d bytes, Size says %d", len(enc), h.Size())
		}
		back, err := frame.ParseHeader(enc)
		if err != nil || back != h {
			t.Fatalf("ParseHeader(AppendHeader(%+v)) = %+v, %v", h, back, err)
		}
		// CheckHeader on a server: a valid header is exactly what RFC 6455
		// §5.1-§5.5 allows without extensions.
		valid := rsv == 0 && ref.masked &&
			(ref.opcode <= 2 || (ref.opcode >= 8 && ref.opcode <= 10)) &&
			(ref.opcode < 8 || (ref.fin && ref.length <= 125))
		if err := frame.CheckHeader(h, 0, frame.FromClient); (err == nil) != valid {
			t.Fatalf("CheckHeader(%+v) = %v, reference valid = %v", h, err, valid)
		}
	})
}

// FuzzUTF8Splits feeds the validator the input in pieces cut at the
// fuzzer's split points, and compares with unicode/utf8 on the whole.
func FuzzUTF8Splits(f *testing.F) {
	f.Add([]byte("héllo wörld €𝄞"), []byte{1, 2, 3})
	f.Add([]byte{0xed, 0xa0, 0x80}, []byte{1})
	f.Add([]byte{0xf4, 0x90, 0x80, 0x80}, []byte{2})
	f.Add([]byte{0xe2, 0x82}, []byte{})
	f.Fuzz(func(t *testing.T, in, cuts []byte) {
		var v frame.UTF8Validator
		ok := true
		rest := in
		for _, c := range cuts {
			if len(rest) == 0 {
				break
			}
			k := int(c) % (len(rest) + 1)
			ok = v.Write(rest[:k]) && ok
			rest = rest[k:]
		}
		ok = v.Write(rest) && ok
		if got, want := ok && v.Done(), utf8.Valid(in); got != want {
			t.Fatalf("validator over splits of %x = %v, utf8.Valid = %v", in, got, want)
		}
	})
}
