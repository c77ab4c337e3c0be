package deflate

import (
	"encoding/binary"
	"math/bits"
)

func load64(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }

// hash5 maps the low 5 bytes of u to a table index.
func hash5(u uint64) uint32 { return uint32(((u << 24) * 0x9e3779b97f4a7c15) >> (64 - tableBits)) }

// entry is a table entry: position pos, whose first 4 bytes are those of
// cv.
func entry(pos uint32, cv uint64) uint64 { return uint64(pos) | cv<<32 }

// matchLen returns how many leading bytes a and b share; b is at least as
// long as a.
func matchLen(a, b []byte) int {
	n := 0
	for len(a) >= 8 {
		if x := load64(a, 0) ^ load64(b, 0); x != 0 {
			return n + bits.TrailingZeros64(x)>>3
		}
		a, b, n = a[8:], b[8:], n+8
	}
	for i := range a {
		if a[i] != b[i] {
			return n + i
		}
	}
	return n + len(a)
}

// indexHistory enters the positions of the history buf[lo:h] into the
// table before the first block of a message. Every third position is
// indexed, ending with the last, and a match found there is extended
// backwards, so every match of at least 7 bytes is found in full (every
// second position would find those of 6 bytes too, for half as much
// again of the indexing's work, and gains about 0.3 % of the output on
// 1 KiB JSON messages, 1 % on text). A history shorter than 1 KiB (the
// first messages of a connection) is indexed at every position.
func (s *scratch) indexHistory(lo, h int) {
	src := s.buf[:s.end+8]
	last := min(h, s.end-3) // positions whose 4 bytes are all present
	table, base := &s.table, s.base
	if h-lo < 1024 {
		for p := lo; p < last; p++ {
			cv := load64(src, p)
			table[hash5(cv)] = entry(base+uint32(p), cv)
		}
		return
	}
	// Two positions, p and p+3, from each load of 8 bytes.
	// b starts at p and has 8 bytes for p and p+3 while p+3 < last.
	p := lo + (last-1-lo)%3
	b := src[p : last+4]
	pos := base + uint32(p)
	for len(b) >= 8 {
		cv := binary.LittleEndian.Uint64(b)
		table[hash5(cv)] = entry(pos, cv)
		table[hash5(cv>>24)] = entry(pos+3, cv>>24)
		b = b[6:]
		pos += 6
	}
	if len(b) > 4 { // p < last
		cv := load64(src, int(pos-base))
		table[hash5(cv)] = entry(pos, cv)
	}
}

// histSpan is how many bytes of history a block of n bytes, the first of
// its message, is compressed against, up to the window w. Indexing costs
// about a quarter of what compressing the same length does, so the span
// follows the block: 4n, at least 4 KiB (the last few messages of a
// stream of small ones), and at most 2^30/n, so that for blocks past
// 32 KiB, whose own bytes give most of their matches, it shrinks again.
func histSpan(n, w int) int { return min(w, max(4*n, 4096), max(1<<30/max(n, 1), 4096)) }

// lz77 finds matches in src[start:end] against everything before it up
// to window bytes back but not before lo, greedily, and leaves the steps
// in s.seqs. src has 8 bytes beyond end, zeros.
//
// It also counts the symbols the steps need (RFC 1951 §3.2.5) into
// s.litFreq and s.distFreq, the extra bits they take into s.extraBits,
// and the literal/length symbols, the end of block included, into
// s.nsym.
func (s *scratch) lz77(src []byte, lo, start, end, window int) {
	seqs := s.seqs[:0]
	clear(s.litFreq[:])
	clear(s.distFreq[:])
	lf, df := &s.litFreq, &s.distFreq
	extra, nsym := 0, 0
	lit, i := start, start
	base := s.base
	table := &s.table
	maxDist := uint32(window)
	// Two positions are probed per step, i and i+1, so that their table
	// loads overlap; both need 4 bytes of input.
	for i <= end-5 {
		cv := load64(src, i)
		h0, h1 := hash5(cv), hash5(cv>>8)
		c0, c1 := table[h0], table[h1]
		table[h0], table[h1] = entry(base+uint32(i), cv), entry(base+uint32(i+1), cv>>8)
		// d-1 < maxDist: 1 <= d <= window; an entry of an earlier
		// message or from before a slide is always further back. The
		// entry's copy of the 4 bytes saves a load from far back in the
		// input for most candidates that do not match.
		d := base + uint32(i) - uint32(c0)
		if d-1 >= maxDist || uint32(c0>>32) != uint32(cv) {
			d = base + uint32(i+1) - uint32(c1)
			if d-1 >= maxDist || uint32(c1>>32) != uint32(cv>>8) {
				// Search faster the longer nothing matched.
				i += 2 + (i-lit)>>5
				continue
			}
			i++
		}
		c := i - int(d)
		for i > lit && c > lo && src[i-1] == src[c-1] {
			i--
			c--
		}
		l := 4 + matchLen(src[i+4:end], src[c+4:])
		seqs = append(seqs, seq{lit: uint32(i - lit), mlen: uint16(l), dist: uint16(d)})
		for _, b := range src[lit:i] {
			lf[b]++
		}
		dc := distCode(int(d))
		nsym += i - lit
		for m := l; m > 0; {
			p := matchPiece(m)
			nsym++
			lc := lengthCode[p-minMatch]
			lf[257+int(lc)]++
			df[dc]++
			extra += int(lengthExtra[lc]) + int(distExtra[dc])
			m -= p
		}
		i += l
		lit = i
		// Index the end of the match, which the next match often
		// follows; an entry holds 4 bytes of input, never padding.
		if i <= end-3 {
			cv := load64(src, i-1)
			table[hash5(cv)] = entry(base+uint32(i-1), cv)
		}
	}
	for _, b := range src[lit:end] {
		lf[b]++
	}
	lf[endOfBlock] = 1
	s.seqs = append(seqs, seq{lit: uint32(end - lit)})
	s.extraBits = extra
	s.nsym = nsym + end - lit + 1
}
