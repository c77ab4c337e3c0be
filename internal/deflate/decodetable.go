package deflate

import "math/bits"

// The inflater's Huffman decoding tables: their entry format, the fixed
// tables, and the builder of a block's dynamic ones.

// Decoding tables: an entry is n | kind<<4 | extra<<8 | value<<16, where
// n is the code length to consume, extra the number of extra bits (or,
// for a link, the bits that index the subtable) and value the literal,
// the base length or distance, or the subtable's offset.
const (
	kindLit  = 0 // literal byte; in the distance table, a distance
	kindLen  = 1 // length code
	kindEOB  = 2 // end of block
	kindLink = 3 // continue in a subtable
	kindBad  = 4 // no such code or symbol

	litRootBits   = 9
	distRootBits  = 7
	clRootBits    = maxCodeLenBits
	litTableSize  = 4096 // the root table and subtables of any code built
	distTableSize = 2048
)

// Symbol information for the tables: the entry without its length.
var (
	litInfo  [288]uint32
	distInfo [32]uint32
	clInfo   [numCodeLen]uint32

	fixedLitTable  [litTableSize]uint32
	fixedDistTable [distTableSize]uint32
)

// initInflateTables builds the tables above; tables.go's init calls it
// once the facts it uses are computed.
func initInflateTables() {
	for s := range 256 {
		litInfo[s] = kindLit<<4 | uint32(s)<<16
	}
	litInfo[256] = kindEOB << 4
	for c := range 29 {
		litInfo[257+c] = kindLen<<4 | uint32(lengthExtra[c])<<8 | uint32(lengthBase[c])<<16
	}
	litInfo[286], litInfo[287] = kindBad<<4, kindBad<<4
	for c := range numDist {
		distInfo[c] = kindLit<<4 | uint32(distExtra[c])<<8 | uint32(distBase[c])<<16
	}
	distInfo[30], distInfo[31] = kindBad<<4, kindBad<<4
	for s := range numCodeLen {
		clInfo[s] = uint32(s) << 16
	}
	// RFC 1951 §3.2.6: the fixed codes, all 288 and 32 symbols.
	var t tableBuilder
	if !t.build(fixedLitTable[:], fixedLitLenBits[:], litInfo[:], litRootBits) ||
		!t.build(fixedDistTable[:], fixedDistBits[:], distInfo[:], distRootBits) {
		panic("deflate: fixed Huffman tables do not build")
	}
}

// tableBuilder holds the work arrays of build.
type tableBuilder struct {
	order [288]uint16 // symbols by code length, then symbol
	codes [288]uint16 // their canonical codes
}

// build fills t with the decoding table of the code with lengths lens
// (RFC 1951 §3.2.2), root bits indexing the first level. It returns false
// for a code that is over-subscribed, or incomplete other than by having
// a single code of length 1, as compress/flate does; a code with no
// symbols builds a table that rejects everything.
func (b *tableBuilder) build(t []uint32, lens []uint8, info []uint32, root uint) bool {
	var count [maxCodeBits + 1]int
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	left, used := 1, 0
	for l := 1; l <= maxCodeBits; l++ {
		left = left<<1 - count[l]
		if left < 0 {
			return false // over-subscribed
		}
		used += count[l]
	}
	rootSize := 1 << root
	if left > 0 {
		if used > 1 || count[1] != 1 && used != 0 {
			return false // incomplete
		}
		// No codes, or one code of length 1: the rest is invalid.
		for i := range t[:rootSize] {
			t[i] = kindBad << 4
		}
		if used == 0 {
			return true
		}
	}
	// A complete code fills every entry below.
	// Symbols in canonical order and their codes.
	var next, offs [maxCodeBits + 2]int
	code := 0
	for l := 1; l <= maxCodeBits; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
		offs[l+1] = offs[l] + count[l]
	}
	for s, l := range lens {
		if l != 0 {
			b.order[offs[l]] = uint16(s)
			b.codes[offs[l]] = uint16(next[l])
			offs[l]++
			next[l]++
		}
	}
	// Codes of up to root bits, shortest first. After those of length l,
	// t[:1<<l] decodes every code of at most l bits, which its low l
	// bits name (the bits arrive LSB first, so a code's entry is at its
	// bit-reversed value); doubling that part gives the entries for
	// l+1 bits, where the codes of length l+1 then go. Entries that no
	// code of at most l bits covers hold stale values until a longer
	// code's entry or link replaces them; in a complete code every root
	// entry is replaced.
	rt := t[:rootSize]
	i, size := 0, 1
	for l := uint(1); l <= root; l++ {
		switch {
		case size > 1:
			copy(rt[size:2*size], rt[:size])
			size *= 2
		case count[l] > 0:
			size = 1 << l
		}
		for n := count[l]; n > 0; n-- {
			s := int(b.order[i])
			rt[reverse(uint(b.codes[i]), l)&uint(size-1)] = info[s] | uint32(l)
			i++
		}
	}
	for ; size > 1 && size < rootSize; size *= 2 {
		copy(rt[size:2*size], rt[:size])
	}
	pos := rootSize // next free entry for a subtable
	for i < used {
		l := uint(lens[b.order[i]])
		c := uint(b.codes[i])
		// Codes that share their first root bits follow each other, the
		// longest last: one subtable holds them all.
		top := c >> (l - root)
		j := i + 1
		for j < used && b.codes[j]>>(lens[b.order[j]]-uint8(root)) == uint16(top) {
			j++
		}
		sub := uint(lens[b.order[j-1]]) - root
		if pos+1<<sub > len(t) {
			return false
		}
		t[reverse(top, root)] = kindLink<<4 | uint32(sub)<<8 | uint32(pos)<<16
		for ; i < j; i++ {
			s := int(b.order[i])
			l := uint(lens[s])
			c := uint(b.codes[i])
			e := info[s] | uint32(l)
			low := l - root
			for k := reverse(c&(1<<low-1), low); k < 1<<sub; k += 1 << low {
				t[pos+int(k)] = e
			}
		}
		pos += 1 << sub
	}
	return true
}

// reverse reverses the low n bits of c.
func reverse(c, n uint) uint { return uint(bits.Reverse16(uint16(c))) >> (16 - n) }
