package deflate

import (
	"encoding/binary"
	"math/bits"
)

func load32(b []byte, i int) uint32 { return binary.LittleEndian.Uint32(b[i:]) }
func load64(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }

// hash4 maps 4 bytes to a table index (multiplicative hashing by an odd
// constant near 2^32/phi, top bits kept).
func hash4(u uint32) uint32 { return (u * 0x9e3779b1) >> (32 - tableBits) }

// hash5 maps the low 5 bytes of u to a table index.
func hash5(u uint64) uint32 { return uint32(((u << 24) * 0x9e3779b97f4a7c15) >> (64 - tableBits)) }

// hashAt is the table index of the bytes at src[i:]; src has 8 readable
// bytes there.
func hashAt(src []byte, i int) uint32 {
	if useHash5 {
		return hash5(load64(src, i))
	}
	return hash4(load32(src, i))
}

const useHash5 = true

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

// indexHistory enters positions of the history buf[:h] into the table
// before the first block of a message, n bytes long, is compressed. It
// spends work in proportion to the block rather than to the window, so
// that a short message after a long history stays cheap: the most recent
// history is indexed at every position, older history at a stride. A
// match found at a strided position is extended backwards, so a match
// longer than the stride plus 3 is found in full wherever it starts.
func (s *scratch) indexHistory(h, n int) {
	src := s.buf[:s.end+8]
	last := min(h, s.end-3) // positions whose 4 bytes are all present
	if last <= 0 {
		return
	}
	budget := histBudget(n)
	first := 0
	if last > budget {
		dense := budget / 2
		first = last - dense
		stride := (first + dense - 1) / dense
		for p := first % stride; p < first; p += stride {
			s.table[hashAt(src, p)] = s.base + uint32(p)
		}
	}
	for p := first; p < last; p++ {
		s.table[hashAt(src, p)] = s.base + uint32(p)
	}
}

// histBudget is how many history positions are indexed before a block of
// n bytes.
func histBudget(n int) int { return max(2*n, 2048) }

// lz77 finds matches in src[start:end] against everything before it up
// to window bytes back, greedily, and leaves the steps in s.seqs. src
// has 8 bytes beyond end, zeros.
func (s *scratch) lz77(src []byte, start, end, window int) {
	seqs := s.seqs[:0]
	lit, i := start, start
	base := s.base
	table := &s.table
	maxDist := uint32(window)
	for i <= end-4 {
		cur := load32(src, i)
		h := hashAt(src, i)
		cand := table[h]
		table[h] = base + uint32(i)
		d := base + uint32(i) - cand
		// d-1 < maxDist: 1 <= d <= window; an entry of an earlier
		// message or from before a slide is always further back.
		if d-1 >= maxDist || load32(src, i-int(d)) != cur {
			// Search faster the longer nothing matched.
			i += 1 + (i-lit)>>5
			continue
		}
		c := i - int(d)
		for i > lit && c > 0 && src[i-1] == src[c-1] {
			i--
			c--
		}
		l := 4 + matchLen(src[i+4:end], src[c+4:])
		seqs = append(seqs, seq{lit: uint32(i - lit), mlen: uint16(l), dist: uint16(d)})
		i += l
		lit = i
		// Index the end of the match, which the next match often
		// follows.
		if i <= end-4 {
			table[hashAt(src, i-1)] = base + uint32(i-1)
		}
	}
	s.seqs = append(seqs, seq{lit: uint32(end - lit)})
}
