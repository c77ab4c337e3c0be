package frame

import (
	"encoding/binary"
	"unicode/utf8"
)

// UTF8Validator checks UTF-8 incrementally, across any split of the input
// into pieces (frames, reads), as RFC 6455 §8.1 asks of text messages and
// close reasons: "When an endpoint is to interpret a byte stream as UTF-8 but
// finds that the byte stream is not, in fact, a valid UTF-8 stream, that
// endpoint MUST _Fail the WebSocket Connection_."
//
// It fails fast: Write reports failure at the first byte that makes the input
// impossible to complete into valid UTF-8, not at the end of the sequence or
// message. 0xC0, 0xC1 and 0xF5-0xFF fail at once; 0xE0 0x80 (overlong),
// 0xED 0xA0 (surrogate) and 0xF4 0x90 (beyond U+10FFFF) fail at their second
// byte. Noncharacters such as U+FFFE and U+FDD0 are valid UTF-8.
//
// The zero value is ready to use. A UTF8Validator is a single byte of state;
// it allocates nothing and must not be used by two goroutines at once.
type UTF8Validator struct {
	state uint8
}

// States of the validator's DFA, a transcription of Table 3-7
// "Well-Formed UTF-8 Byte Sequences" of the Unicode Standard. Each state is a
// bit offset into a row of utf8Rows (see there), hence the multiples of 6.
const (
	utf8Accept = 0 * 6 // between characters
	utf8Reject = 1 * 6 // failed, for good
	utf8Need1  = 2 * 6 // one more byte 80..BF completes the character
	utf8Need2  = 3 * 6 // two more bytes, the next one 80..BF
	utf8E0     = 4 * 6 // after E0: next A0..BF (no overlongs), then 1 more
	utf8ED     = 5 * 6 // after ED: next 80..9F (no surrogates), then 1 more
	utf8Need3  = 6 * 6 // three more bytes, the next one 80..BF
	utf8F0     = 7 * 6 // after F0: next 90..BF (no overlongs), then 2 more
	utf8F4     = 8 * 6 // after F4: next 80..8F (up to U+10FFFF), then 2 more

	utf8States = 9
)

// utf8Next is the DFA's transition function, written as Table 3-7:
//
//	Code Points         First  Second  Third  Fourth
//	U+0000..U+007F      00..7F
//	U+0080..U+07FF      C2..DF 80..BF
//	U+0800..U+0FFF      E0     A0..BF  80..BF
//	U+1000..U+CFFF      E1..EC 80..BF  80..BF
//	U+D000..U+D7FF      ED     80..9F  80..BF
//	U+E000..U+FFFF      EE..EF 80..BF  80..BF
//	U+10000..U+3FFFF    F0     90..BF  80..BF 80..BF
//	U+40000..U+FFFFF    F1..F3 80..BF  80..BF 80..BF
//	U+100000..U+10FFFF  F4     80..8F  80..BF 80..BF
func utf8Next(state int, b byte) int {
	in := func(lo, hi byte) bool { return lo <= b && b <= hi }
	switch state {
	case utf8Accept:
		switch {
		case in(0x00, 0x7F):
			return utf8Accept
		case in(0xC2, 0xDF):
			return utf8Need1
		case b == 0xE0:
			return utf8E0
		case in(0xE1, 0xEC), in(0xEE, 0xEF):
			return utf8Need2
		case b == 0xED:
			return utf8ED
		case b == 0xF0:
			return utf8F0
		case in(0xF1, 0xF3):
			return utf8Need3
		case b == 0xF4:
			return utf8F4
		}
		// 80..BF (continuation without a lead), C0..C1 (overlong
		// two-byte forms), F5..FF (beyond U+10FFFF or never used).
	case utf8Need1:
		if in(0x80, 0xBF) {
			return utf8Accept
		}
	case utf8Need2:
		if in(0x80, 0xBF) {
			return utf8Need1
		}
	case utf8E0:
		if in(0xA0, 0xBF) {
			return utf8Need1
		}
	case utf8ED:
		if in(0x80, 0x9F) {
			return utf8Need1
		}
	case utf8Need3:
		if in(0x80, 0xBF) {
			return utf8Need2
		}
	case utf8F0:
		if in(0x90, 0xBF) {
			return utf8Need2
		}
	case utf8F4:
		if in(0x80, 0x8F) {
			return utf8Need2
		}
	}
	return utf8Reject
}

// utf8Rows is utf8Next as a table with one 64-bit row per input byte: the
// six bits at offset s of utf8Rows[b] hold utf8Next(s, b). A step of the DFA
// is then one load and one shift.
var utf8Rows = func() (rows [256]uint64) {
	for b := range rows {
		for s := 0; s < utf8States*6; s += 6 {
			rows[b] |= uint64(utf8Next(s, byte(b))) << s
		}
	}
	return rows
}()

const asciiMask = 0x8080808080808080 // the high bit of each of 8 bytes

// Write feeds p to the validator. It reports false once the input fed since
// the last Reset cannot be the beginning of valid UTF-8, and keeps reporting
// false until Reset. A true result allows an incomplete character at the end
// of p, to be completed by the next Write; call Done at the end of the input.
func (v *UTF8Validator) Write(p []byte) bool {
	s := uint64(v.state)
	for len(p) >= 8 {
		if s == utf8Accept && binary.LittleEndian.Uint64(p[0:8])&asciiMask == 0 {
			// Fast path: between characters, skip ASCII 8 and then 32
			// bytes at a time.
			p = p[8:]
			for len(p) >= 32 {
				w := binary.LittleEndian.Uint64(p[0:8]) | binary.LittleEndian.Uint64(p[8:16]) |
					binary.LittleEndian.Uint64(p[16:24]) | binary.LittleEndian.Uint64(p[24:32])
				if w&asciiMask != 0 {
					break
				}
				p = p[32:]
			}
			continue
		}
		// Eight steps of the DFA. The reject state is a trap, so checking
		// for it once afterwards loses nothing.
		s = utf8Rows[p[0]] >> (s & 63) & 63
		s = utf8Rows[p[1]] >> (s & 63) & 63
		s = utf8Rows[p[2]] >> (s & 63) & 63
		s = utf8Rows[p[3]] >> (s & 63) & 63
		s = utf8Rows[p[4]] >> (s & 63) & 63
		s = utf8Rows[p[5]] >> (s & 63) & 63
		s = utf8Rows[p[6]] >> (s & 63) & 63
		s = utf8Rows[p[7]] >> (s & 63) & 63
		if s == utf8Reject {
			v.state = utf8Reject
			return false
		}
		p = p[8:]
	}
	for _, c := range p {
		s = utf8Rows[c] >> (s & 63) & 63
	}
	v.state = uint8(s)
	return s != utf8Reject
}

// Done reports whether the input fed since the last Reset is valid UTF-8
// that does not end inside a character. Call it at the end of a message.
func (v *UTF8Validator) Done() bool { return v.state == utf8Accept }

// Reset returns the validator to its zero state, ready for a new input.
func (v *UTF8Validator) Reset() { v.state = utf8Accept }

// ValidUTF8 reports whether p is entirely valid UTF-8. It is utf8.Valid,
// named here for symmetry with UTF8Validator.
func ValidUTF8(p []byte) bool { return utf8.Valid(p) }
