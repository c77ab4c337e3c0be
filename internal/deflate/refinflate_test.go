package deflate

import (
	"errors"
	"fmt"
	"sync"
)

// refInflate is a plain transcription of RFC 1951 §3.2 for the tests,
// independent of compress/flate and of the encoder: it decodes one
// permessage-deflate payload (the trailing 00 00 ff ff removed, RFC 7692
// §7.2.1) after the history hist, and checks that no back-reference
// reaches further than window bytes or before the start of the history.
// It returns the message and the longest distance used.
func refInflate(hist, payload []byte, window int) (out []byte, maxDist int, err error) {
	// RFC 7692 §7.2.2: append 00 00 ff ff, then read blocks until the
	// input ends after a whole block (or a block with BFINAL set).
	in := append(append([]byte(nil), payload...), 0x00, 0x00, 0xff, 0xff)
	r := &refBits{in: in}
	all := append([]byte(nil), hist...)
	start := len(all)
	defer func() {
		if e := recover(); e != nil {
			err = fmt.Errorf("refInflate: %v", e)
		}
	}()
	for {
		if r.pos >= len(r.in) && r.nb == 0 {
			return all[start:], maxDist, nil
		}
		final := r.bits(1)
		switch r.bits(2) {
		case 0: // RFC 1951 §3.2.4: stored
			r.nb, r.acc = 0, 0 // skip to the byte boundary
			if r.pos+4 > len(r.in) {
				return nil, 0, errors.New("stored block header cut short")
			}
			n := int(r.in[r.pos]) | int(r.in[r.pos+1])<<8
			nn := int(r.in[r.pos+2]) | int(r.in[r.pos+3])<<8
			if n != ^nn&0xffff {
				return nil, 0, errors.New("stored block LEN and NLEN disagree")
			}
			r.pos += 4
			if r.pos+n > len(r.in) {
				return nil, 0, errors.New("stored block cut short")
			}
			all = append(all, r.in[r.pos:r.pos+n]...)
			r.pos += n
		case 1: // §3.2.6: fixed codes
			lit, dist := refFixed()
			if all, maxDist, err = r.codes(all, start, lit, dist, window, maxDist); err != nil {
				return nil, 0, err
			}
		case 2: // §3.2.7: dynamic codes
			nlit, ndist, nclen := r.bits(5)+257, r.bits(5)+1, r.bits(4)+4
			var cl [19]int
			for i := range nclen {
				cl[refCodeLenOrder[i]] = r.bits(3)
			}
			clc := refCode(cl[:])
			lens := make([]int, 0, nlit+ndist)
			for len(lens) < nlit+ndist {
				sym := r.decode(clc)
				switch {
				case sym < 16:
					lens = append(lens, sym)
				case sym == 16:
					if len(lens) == 0 {
						return nil, 0, errors.New("repeat with no previous length")
					}
					prev := lens[len(lens)-1]
					for range 3 + r.bits(2) {
						lens = append(lens, prev)
					}
				case sym == 17:
					for range 3 + r.bits(3) {
						lens = append(lens, 0)
					}
				default:
					for range 11 + r.bits(7) {
						lens = append(lens, 0)
					}
				}
			}
			if len(lens) > nlit+ndist {
				return nil, 0, errors.New("code lengths overrun")
			}
			if lens[256] == 0 {
				return nil, 0, errors.New("no end-of-block code")
			}
			lit, dist := refCode(lens[:nlit]), refCode(lens[nlit:])
			if all, maxDist, err = r.codes(all, start, lit, dist, window, maxDist); err != nil {
				return nil, 0, err
			}
		default:
			return nil, 0, errors.New("block type 3")
		}
		if final == 1 {
			return all[start:], maxDist, nil
		}
	}
}

// The tables of RFC 1951 §3.2.5 as printed there, kept apart from the
// encoder's computed ones.
var (
	refLenBase   = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	refLenExtra  = [29]int{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	refDistBase  = [30]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	refDistExtra = [30]int{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	// §3.2.7: the order of the code length code lengths.
	refCodeLenOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// refFixed returns the fixed codes of RFC 1951 §3.2.6.
var refFixed = sync.OnceValues(func() (*refHuff, *refHuff) {
	var lens [288 + 32]int
	for i := range 288 {
		switch {
		case i < 144:
			lens[i] = 8
		case i < 256:
			lens[i] = 9
		case i < 280:
			lens[i] = 7
		default:
			lens[i] = 8
		}
	}
	for i := range 32 {
		lens[288+i] = 5
	}
	return refCode(lens[:288]), refCode(lens[288:])
})

// refBits reads bits LSB first (RFC 1951 §3.1.1).
type refBits struct {
	in  []byte
	pos int
	acc uint
	nb  uint
}

func (r *refBits) bits(n int) int {
	for r.nb < uint(n) {
		if r.pos >= len(r.in) {
			panic("input cut short")
		}
		r.acc |= uint(r.in[r.pos]) << r.nb
		r.pos++
		r.nb += 8
	}
	v := int(r.acc & (1<<uint(n) - 1))
	r.acc >>= uint(n)
	r.nb -= uint(n)
	return v
}

// refHuff is a canonical code (RFC 1951 §3.2.2) by code length: how many
// codes each length has, and the symbols in code order.
type refHuff struct {
	count [16]int
	syms  []int
}

func refCode(lens []int) *refHuff {
	h := &refHuff{}
	for _, l := range lens {
		h.count[l]++
	}
	h.count[0] = 0
	for l := 1; l <= 15; l++ {
		for s, sl := range lens {
			if sl == l {
				h.syms = append(h.syms, s)
			}
		}
	}
	return h
}

// decode reads one symbol, bit by bit: codes of one length are
// consecutive integers, read most significant bit first.
func (r *refBits) decode(h *refHuff) int {
	code, first, index := 0, 0, 0
	for l := 1; l <= 15; l++ {
		code |= r.bits(1)
		count := h.count[l]
		if code-first < count {
			return h.syms[index+code-first]
		}
		index += count
		first = (first + count) << 1
		code <<= 1
	}
	panic("invalid Huffman code")
}

func (r *refBits) codes(all []byte, start int, lit, dist *refHuff, window, maxDist int) ([]byte, int, error) {
	for {
		sym := r.decode(lit)
		switch {
		case sym < 256:
			all = append(all, byte(sym))
			continue
		case sym == 256:
			return all, maxDist, nil
		case sym > 285:
			return nil, 0, fmt.Errorf("literal/length symbol %d", sym)
		}
		lc := sym - 257
		length := refLenBase[lc] + r.bits(refLenExtra[lc])
		dc := r.decode(dist)
		if dc >= 30 {
			return nil, 0, fmt.Errorf("distance symbol %d", dc)
		}
		d := refDistBase[dc] + r.bits(refDistExtra[dc])
		if d > window {
			return nil, 0, fmt.Errorf("distance %d beyond the window of %d bytes", d, window)
		}
		if d > len(all) {
			return nil, 0, fmt.Errorf("distance %d before the start of the history (%d bytes)", d, len(all))
		}
		maxDist = max(maxDist, d)
		for range length {
			all = append(all, all[len(all)-d])
		}
	}
}
