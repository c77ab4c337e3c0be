package deflate

import (
	"encoding/binary"
	"slices"
)

// writeBlock appends blk, whose LZ77 steps and symbol frequencies lz77
// left in e.s, as one DEFLATE block (BFINAL 0) of whichever type is
// shortest: stored, fixed Huffman codes or dynamic Huffman codes (RFC 1951
// §3.2.3).
func (e *Encoder) writeBlock(dst, blk []byte) []byte {
	s := e.s
	extraBits := s.extraBits
	// The three sizes in bits, each with its 3-bit block header.
	storedBits := 3 + int(-(e.nbits+3))&7 + 32 + 8*len(blk)
	fixedBits := 3 + extraBits
	if s.nsym <= fewSymbols {
		// Too few symbols for a dynamic code to pay for its header: the
		// codes of a block of one match and a few literals (a message
		// that repeats an earlier one) are not worth building, and the
		// fixed codes' size is counted from the steps.
		fixedBits += s.fixedStepBits(blk)
		if storedBits <= fixedBits {
			return e.writeStored(dst, blk)
		}
		dst = slices.Grow(dst, fixedBits/8+16)
		return e.writeCodes(dst, blk, 1, fixedLitLen[:numLitLen], fixedDist[:numDist], 0, 0)
	}
	fixedBits += s.fixedFreqBits()
	nlit := s.huff.lengths(s.litFreq[:], s.litLens[:], maxCodeBits)
	ndist := s.huff.lengths(s.distFreq[:], s.distLens[:], maxCodeBits)
	nlit = max(nlit, 257)
	dynBits := 3 + extraBits + s.dynHeaderBits(nlit, ndist)
	for sym, f := range s.litFreq {
		dynBits += int(f) * int(s.litLens[sym])
	}
	for sym, f := range s.distFreq {
		dynBits += int(f) * int(s.distLens[sym])
	}

	switch {
	case storedBits <= fixedBits && storedBits <= dynBits:
		return e.writeStored(dst, blk)
	case fixedBits <= dynBits:
		dst = slices.Grow(dst, fixedBits/8+16)
		return e.writeCodes(dst, blk, 1, fixedLitLen[:numLitLen], fixedDist[:numDist], 0, 0)
	}
	dst = slices.Grow(dst, dynBits/8+16)
	canonicalCodes(s.litCodes[:], s.litLens[:nlit])
	canonicalCodes(s.distCodes[:], s.distLens[:ndist])
	return e.writeCodes(dst, blk, 2, s.litCodes[:], s.distCodes[:], nlit, ndist)
}

// fixedFreqBits returns the bits of the block's symbols in the fixed
// codes (RFC 1951 §3.2.6), extra bits left out, from their frequencies.
func (s *scratch) fixedFreqBits() int {
	n := 0
	for sym, f := range s.litFreq {
		n += int(f) * int(fixedLitLenBits[sym])
	}
	for _, f := range s.distFreq {
		n += int(f) * 5
	}
	return n
}

// fixedStepBits is fixedFreqBits counted from the LZ77 steps of blk
// instead, which is quicker for a block of few steps.
func (s *scratch) fixedStepBits(blk []byte) int {
	n, p := 0, 0
	for _, q := range s.seqs {
		for _, b := range blk[p : p+int(q.lit)] {
			n += int(fixedLitLenBits[b])
		}
		p += int(q.lit) + int(q.mlen)
		for m := int(q.mlen); m > 0; {
			l := matchPiece(m)
			n += int(fixedLitLenBits[257+int(lengthCode[l-minMatch])]) + 5
			m -= l
		}
	}
	return n + int(fixedLitLenBits[endOfBlock])
}

// fewSymbols is the most literal/length symbols (the end of block
// included) a block may have and be sent with the fixed codes without
// building dynamic ones. A dynamic block's header takes at least about
// 60 bits (RFC 1951 §3.2.7: 14 bits of counts, 3 per code length code
// length, the run-length coded lengths of 258 symbols or more), and each
// symbol saves at most 8 bits over the fixed codes' 9, so for so few
// symbols the dynamic codes save at most a few bytes and mostly lose.
const fewSymbols = 12

// matchPiece returns the length of the next piece of a match of m >= 3
// bytes: at most 258, and never leaving less than 3.
func matchPiece(m int) int {
	if m <= maxMatch {
		return m
	}
	if m-maxMatch < minMatch {
		return m - minMatch
	}
	return maxMatch
}

// writeStored appends blk as a stored block (RFC 1951 §3.2.4): the
// header bits, padding to a byte boundary, LEN and NLEN, the bytes.
func (e *Encoder) writeStored(dst, blk []byte) []byte {
	dst = e.syncMarker(dst)
	n := len(blk)
	dst = append(dst, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
	return append(dst, blk...)
}

// dynHeaderBits prepares the code length code of the dynamic block
// header for nlit literal/length and ndist distance code lengths (RFC 1951
// §3.2.7) and returns the header's size in bits, without the 3-bit block
// header. The run-length coded lengths are left in s.rle.
func (s *scratch) dynHeaderBits(nlit, ndist int) int {
	clear(s.clFreq[:])
	n := 0
	// RFC 1951 §3.2.7: "the code length repeat codes can cross from HLIT
	// + 257 to the HDIST + 1 code lengths"; all lengths form one sequence.
	all := s.allLens[:nlit+ndist]
	copy(all, s.litLens[:nlit])
	copy(all[nlit:], s.distLens[:ndist])
	for i := 0; i < len(all); {
		l := all[i]
		run := 1
		for i+run < len(all) && all[i+run] == l {
			run++
		}
		i += run
		if l == 0 {
			// 17: 3..10 zeros (3 extra bits), 18: 11..138 zeros (7).
			for run >= 11 {
				r := min(run, 138)
				s.rle[n] = 18 | uint16(r-11)<<8
				n++
				run -= r
			}
			if run >= 3 {
				s.rle[n] = 17 | uint16(run-3)<<8
				n++
				run = 0
			}
		} else {
			s.rle[n] = uint16(l)
			n++
			run--
			// 16: the previous length 3..6 times (2 extra bits).
			for run >= 3 {
				r := min(run, 6)
				s.rle[n] = 16 | uint16(r-3)<<8
				n++
				run -= r
			}
		}
		for ; run > 0; run-- {
			s.rle[n] = uint16(l)
			n++
		}
	}
	s.rleLen = n
	for _, r := range s.rle[:n] {
		s.clFreq[r&0xff]++
	}
	s.huff.lengths(s.clFreq[:], s.clLens[:], maxCodeLenBits)
	canonicalCodes(s.clCodes[:], s.clLens[:])
	s.hclen = numCodeLen
	for s.hclen > 4 && s.clLens[codeLenOrder[s.hclen-1]] == 0 {
		s.hclen--
	}
	bits := 5 + 5 + 4 + 3*s.hclen
	for sym, f := range s.clFreq {
		bits += int(f) * int(s.clLens[sym])
	}
	bits += 2*int(s.clFreq[16]) + 3*int(s.clFreq[17]) + 7*int(s.clFreq[18])
	return bits
}

// writeCodes appends blk as a block of type btype (1 fixed, 2 dynamic)
// coded with lit and dist; for dynamic blocks it first writes the header
// prepared by dynHeaderBits. dst has room for the whole block plus 8 bytes.
func (e *Encoder) writeCodes(dst, blk []byte, btype uint64, lit, dist []uint32, nlit, ndist int) []byte {
	s := e.s
	w := bitWriter{out: dst[:cap(dst)], n: len(dst), acc: e.bits, nb: e.nbits}
	w.put(btype<<1, 3) // BFINAL 0: RFC 7692 §7.2.1 ends with a sync flush
	if btype == 2 {
		w.put(uint64(nlit-257), 5)
		w.put(uint64(ndist-1), 5)
		w.put(uint64(s.hclen-4), 4)
		for _, sym := range codeLenOrder[:s.hclen] {
			w.put(uint64(s.clLens[sym]), 3)
		}
		for _, r := range s.rle[:s.rleLen] {
			sym := r & 0xff
			w.putCode(s.clCodes[sym])
			switch sym {
			case 16:
				w.put(uint64(r>>8), 2)
			case 17:
				w.put(uint64(r>>8), 3)
			case 18:
				w.put(uint64(r>>8), 7)
			}
		}
	}
	// Length codes with their extra bits, by length-3, for blocks with
	// enough matches to pay for the table.
	lenTab := &s.lenCodes
	if len(s.seqs) > 64 {
		for l := range lenTab {
			lc := lengthCode[l]
			c := lit[257+int(lc)]
			k := c >> 24
			lenTab[l] = (c & 0xffff) | uint32(l+minMatch-int(lengthBase[lc]))<<k | (k+uint32(lengthExtra[lc]))<<24
		}
	} else {
		lenTab = nil
	}
	w.flush()

	// The hot loop keeps the bit buffer in locals. Each step adds at most
	// 48 bits to fewer than 8, then writes 8 bytes and keeps the bits of
	// the last partial byte.
	out, n, acc, nb := w.out, w.n, w.acc, w.nb
	litTab := (*[numLitLen]uint32)(lit)
	p := 0
	for _, q := range s.seqs {
		lits := blk[p : p+int(q.lit)]
		p += int(q.lit)
		for len(lits) >= 3 {
			c0, c1, c2 := litTab[lits[0]], litTab[lits[1]], litTab[lits[2]]
			acc |= uint64(c0&0xffff) << nb
			nb += uint(c0 >> 24)
			acc |= uint64(c1&0xffff) << nb
			nb += uint(c1 >> 24)
			acc |= uint64(c2&0xffff) << nb
			nb += uint(c2 >> 24)
			binary.LittleEndian.PutUint64(out[n:], acc)
			k := nb >> 3
			n += int(k)
			acc >>= k << 3
			nb &= 7
			lits = lits[3:]
		}
		if len(lits) > 0 {
			for _, b := range lits {
				c := litTab[b]
				acc |= uint64(c&0xffff) << nb
				nb += uint(c >> 24)
			}
			binary.LittleEndian.PutUint64(out[n:], acc)
			k := nb >> 3
			n += int(k)
			acc >>= k << 3
			nb &= 7
		}
		m := int(q.mlen)
		if m == 0 {
			continue
		}
		p += m
		d := int(q.dist)
		dc := distCode(d)
		dcode := dist[dc]
		dk := uint(dcode >> 24)
		dv := uint64(dcode&0xffff) | uint64(d-int(distBase[dc]))<<dk
		dk += uint(distExtra[dc])
		for m > 0 {
			l := matchPiece(m)
			var c uint32
			if lenTab != nil {
				c = lenTab[l-minMatch]
			} else {
				lc := lengthCode[l-minMatch]
				c = litTab[257+int(lc)]
				k := c >> 24
				c = (c & 0xffff) | uint32(l-int(lengthBase[lc]))<<k | (k+uint32(lengthExtra[lc]))<<24
			}
			acc |= uint64(c&0xffffff) << nb
			nb += uint(c >> 24)
			acc |= dv << nb
			nb += dk
			binary.LittleEndian.PutUint64(out[n:], acc)
			k := nb >> 3
			n += int(k)
			acc >>= k << 3
			nb &= 7
			m -= l
		}
	}
	w.out, w.n, w.acc, w.nb = out, n, acc, nb
	w.putCode(litTab[endOfBlock])
	w.flush()
	e.bits, e.nbits = w.acc, w.nb
	return w.out[:w.n]
}

// bitWriter writes bits LSB first (RFC 1951 §3.1.1) into out, which has
// room for everything written plus 8 bytes.
type bitWriter struct {
	out []byte
	n   int    // bytes written
	acc uint64 // bits not written yet
	nb  uint   // count of bits in acc, below 32 between calls
}

// put adds the k low bits of v, k <= 32.
func (w *bitWriter) put(v uint64, k uint) {
	w.acc |= v << w.nb
	w.nb += k
	if w.nb >= 32 {
		w.flush()
	}
}

// putCode adds a Huffman code packed as code | length<<24.
func (w *bitWriter) putCode(c uint32) { w.put(uint64(c&0xffff), uint(c>>24)) }

// flush writes the whole bytes of acc.
func (w *bitWriter) flush() {
	binary.LittleEndian.PutUint64(w.out[w.n:], w.acc)
	k := w.nb >> 3
	w.n += int(k)
	w.acc >>= k << 3
	w.nb &= 7
}
