package deflate

import (
	"encoding/binary"
	"errors"
	"io"
)

// The inflater decodes a DEFLATE stream (RFC 1951) into a buffer that
// keeps the last 32 KiB of output for back-references. It accepts what
// compress/flate accepts and rejects what it rejects (the fuzz tests
// compare the two); unlike compress/flate it allocates nothing per block.

var (
	errCorrupt    = errors.New("invalid DEFLATE data")
	errShortInput = errors.New("DEFLATE data cut short")
)

// Inflater states.
const (
	stateHeader = iota // at the start of a block
	stateStored        // inside a stored block
	stateCodes         // inside a block with Huffman codes
	stateDone          // after the final block
)

const (
	// histKeep is the history kept when the output buffer slides: the
	// largest distance RFC 1951 allows.
	histKeep = 1 << 15
	// outSize is the output buffer: history and room for 64 KiB of new
	// output, plus slack for copies that overshoot by up to 8 bytes.
	outSize  = histKeep + 1<<16
	outSlack = 16
)

// inflater decodes one message. It is part of the pooled inflateState.
type inflater struct {
	src  *source
	in   []byte // input not yet in bits
	bits uint64 // input bits, LSB first; above nb they may hold the next bytes of in
	nb   uint

	out        *[outSize + outSlack]byte // history, then output
	wpos, rpos int                       // end of output; end of what Read handed out
	// The dictionary (a Decoder's window) is not copied in front of the
	// output when a message starts: out[lo:histKeep] holds the part of it
	// back-references have needed so far, and out[start:lo] is filled
	// from ring (the last hlen bytes of it end before ring[rend]) when a
	// back-reference first reaches there. Before start nothing may be
	// referred to. After the buffer slides (slid), lo and start are 0.
	lo, start  int
	slid       bool
	ring       []byte
	rend, hlen int
	state      int
	final      bool // the current block is the last
	stored     int  // bytes left in the current stored block
	lit        *[litTableSize]uint32
	dist       *[distTableSize]uint32
	err        error

	dynLit  [litTableSize]uint32
	dynDist [distTableSize]uint32
	clTable [1 << clRootBits]uint32
	lens    [288 + 32]uint8
	tb      tableBuilder
}

// reset starts a stream from src whose history is the last hlen bytes
// of the ring buffer ring (a power of two long, at most histKeep) before
// ring[rend]. The history is copied in front of the output only as far
// as back-references reach into it (see fill).
func (f *inflater) reset(src *source, ring []byte, rend, hlen int) {
	if f.out == nil {
		f.out = new([outSize + outSlack]byte)
	}
	f.src = src
	f.in, f.bits, f.nb = nil, 0, 0
	f.wpos, f.rpos = histKeep, histKeep
	f.lo, f.start, f.slid = histKeep, histKeep-min(hlen, histKeep), false
	f.ring, f.rend, f.hlen = ring, rend, hlen
	f.state, f.final, f.stored, f.err = stateHeader, false, 0, nil
	f.lit, f.dist = nil, nil
}

// fill copies the history from position from up to f.lo in front of the
// output, in pieces of at least 4 KiB, so that a back-reference can reach
// from; false if from is before the history.
func (f *inflater) fill(from int) bool {
	if from < f.start {
		return false
	}
	a := max(f.start, min(from, f.lo-4096))
	// out[p] is the history byte histKeep-p back from its end.
	m := len(f.ring) - 1
	for p := a; p < f.lo; {
		i := (f.rend - (histKeep - p)) & m
		p += copy(f.out[p:f.lo], f.ring[i:])
	}
	f.lo = a
	return true
}

// output returns the message's output that the buffer still holds: all
// of it, or at least the last histKeep bytes, and whether that is all.
func (f *inflater) output() ([]byte, bool) {
	if f.slid {
		// The message's output fills the buffer.
		return f.out[:f.wpos], false
	}
	return f.out[histKeep:f.wpos], true
}

// Read hands out output, decoding more as needed; io.EOF after the final
// block.
func (f *inflater) Read(p []byte) (int, error) {
	for {
		if f.rpos < f.wpos {
			n := copy(p, f.out[f.rpos:f.wpos])
			f.rpos += n
			return n, nil
		}
		if f.err != nil {
			return 0, f.err
		}
		f.decode()
	}
}

// skip decodes output and drops it, until the end of the stream or an
// error; io.EOF at the end. It decodes at most about 64 KiB per call.
func (f *inflater) skip() (int, error) {
	if f.rpos == f.wpos && f.err == nil {
		f.decode()
	}
	n := f.wpos - f.rpos
	f.rpos = f.wpos
	if n == 0 {
		return 0, f.err
	}
	return n, nil
}

// decode adds output to the buffer, until it is nearly full or the
// stream ends; at the end of the stream or on an error it sets f.err.
// All output must have been read.
func (f *inflater) decode() {
	if f.wpos > outSize-maxMatch {
		// Slide: keep the history a back-reference may reach.
		n := copy(f.out[:], f.out[f.wpos-histKeep:f.wpos])
		f.wpos, f.rpos = n, n
		f.lo, f.start, f.slid = 0, 0, true
	}
	for f.err == nil && f.wpos <= outSize-maxMatch {
		switch f.state {
		case stateHeader:
			f.header()
		case stateStored:
			f.copyStored()
		case stateCodes:
			f.codes()
		case stateDone:
			f.err = io.EOF
		}
	}
}

// short records an input error: the source's own, or data cut short.
func (f *inflater) short() {
	if f.src.err != nil {
		f.err = f.src.err
	} else {
		f.err = errShortInput
	}
}

// refill tops up the bit buffer: to at least 56 bits when 8 bytes of
// input are at hand, else byte by byte as far as the input goes.
func (f *inflater) refill() {
	for f.nb <= 56 {
		if len(f.in) >= 8 {
			f.bits |= binary.LittleEndian.Uint64(f.in) << f.nb
			k := (63 - f.nb) >> 3
			f.in = f.in[k:]
			f.nb += k << 3
			return
		}
		if len(f.in) == 0 {
			if !f.more() {
				return
			}
			continue
		}
		f.bits |= uint64(f.in[0]) << f.nb
		f.in = f.in[1:]
		f.nb += 8
	}
}

// need makes n bits available, or records that the input ended.
func (f *inflater) need(n uint) bool {
	if f.nb < n {
		f.refill()
		if f.nb < n {
			f.short()
			return false
		}
	}
	return true
}

// take consumes n bits, which are available.
func (f *inflater) take(n uint) uint {
	v := uint(f.bits) & (1<<n - 1)
	f.bits >>= n
	f.nb -= n
	return v
}

// header reads a block header (RFC 1951 §3.2.3) and what follows it up
// to the block's data.
func (f *inflater) header() {
	if f.final {
		f.state = stateDone
		return
	}
	if !f.need(3) {
		return
	}
	h := f.take(3)
	f.final = h&1 == 1
	switch h >> 1 {
	case 0:
		// §3.2.4: skip to a byte boundary; LEN, NLEN.
		f.take(f.nb & 7)
		if !f.need(32) {
			return
		}
		n := f.take(16)
		if nn := f.take(16); n != ^nn&0xffff {
			f.err = errCorrupt
			return
		}
		f.stored = int(n)
		f.state = stateStored
	case 1:
		f.lit, f.dist = &fixedLitTable, &fixedDistTable
		f.state = stateCodes
	case 2:
		if f.dynamicHeader() {
			f.lit, f.dist = &f.dynLit, &f.dynDist
			f.state = stateCodes
		}
	default:
		f.err = errCorrupt
	}
}

// dynamicHeader reads the code lengths of a dynamic block (RFC 1951
// §3.2.7) and builds its tables.
func (f *inflater) dynamicHeader() bool {
	if !f.need(14) {
		return false
	}
	nlit := int(f.take(5)) + 257
	ndist := int(f.take(5)) + 1
	nclen := int(f.take(4)) + 4
	if nlit > numLitLen || ndist > numDist {
		f.err = errCorrupt
		return false
	}
	var cl [numCodeLen]uint8
	for _, s := range codeLenOrder[:nclen] {
		if !f.need(3) {
			return false
		}
		cl[s] = uint8(f.take(3))
	}
	if !f.tb.build(f.clTable[:], cl[:], clInfo[:], clRootBits) {
		f.err = errCorrupt
		return false
	}
	lens := f.lens[:nlit+ndist]
	clt := &f.clTable
	for i := 0; i < len(lens); {
		// A code length code is at most 7 bits and its extra bits at
		// most 7: with 14 bits at hand no check of the input is needed.
		if f.nb < 14 {
			f.refill()
		}
		var sym uint
		if e := clt[f.bits&(1<<clRootBits-1)]; f.nb >= 14 && e>>4&15 != kindBad {
			f.take(uint(e & 15))
			sym = uint(e >> 16)
		} else {
			var ok bool
			if sym, ok = f.symbol(f.clTable[:], clRootBits); !ok {
				return false
			}
		}
		if sym < 16 {
			lens[i] = uint8(sym)
			i++
			continue
		}
		var rep uint
		var v uint8
		switch sym {
		case 16:
			if i == 0 {
				f.err = errCorrupt
				return false
			}
			if !f.need(2) {
				return false
			}
			rep, v = 3+f.take(2), lens[i-1]
		case 17:
			if !f.need(3) {
				return false
			}
			rep = 3 + f.take(3)
		default:
			if !f.need(7) {
				return false
			}
			rep = 11 + f.take(7)
		}
		if i+int(rep) > len(lens) {
			f.err = errCorrupt
			return false
		}
		run := lens[i : i+int(rep)]
		for j := range run {
			run[j] = v
		}
		i += len(run)
	}
	if !f.tb.build(f.dynLit[:], lens[:nlit], litInfo[:], litRootBits) ||
		!f.tb.build(f.dynDist[:], lens[nlit:], distInfo[:], distRootBits) {
		f.err = errCorrupt
		return false
	}
	return true
}

// symbol decodes one symbol with table t, a code length code table (no
// subtables), in the careful way the header needs.
func (f *inflater) symbol(t []uint32, root uint) (uint, bool) {
	if f.nb < maxCodeLenBits {
		f.refill()
	}
	e := t[uint(f.bits)&(1<<root-1)]
	if n := uint(e & 15); n > f.nb || e>>4&15 == kindBad {
		f.badCode(e)
		return 0, false
	}
	f.take(uint(e & 15))
	return uint(e >> 16), true
}

// copyStored copies stored block data to the output.
func (f *inflater) copyStored() {
	w := f.wpos
	room := outSize - w
	// Whole bytes still in the bit buffer come first.
	for f.stored > 0 && f.nb >= 8 && room > 0 {
		f.out[w] = byte(f.bits)
		f.bits >>= 8
		f.nb -= 8
		w++
		room--
		f.stored--
	}
	if f.nb == 0 {
		f.bits = 0 // it held the bytes of in copied below
	}
	for f.stored > 0 && room > 0 {
		if len(f.in) == 0 && !f.more() {
			f.wpos = w
			f.short()
			return
		}
		n := copy(f.out[w:w+min(room, f.stored)], f.in)
		f.in = f.in[n:]
		w += n
		room -= n
		f.stored -= n
	}
	f.wpos = w
	if f.stored == 0 {
		f.state = stateHeader
	}
}

// codes decodes a block with Huffman codes until its end or until the
// output buffer has no room for another match. The bit buffer lives in
// locals here and goes back to f at every exit.
func (f *inflater) codes() {
	lit, dist := f.lit, f.dist
	out := f.out
	w := f.wpos
	bits, nb, in := f.bits, f.nb, f.in
	const litMask, distMask = 1<<litRootBits - 1, 1<<distRootBits - 1
	for w <= outSize-maxMatch {
		if nb < 48 {
			if len(in) >= 8 {
				bits |= binary.LittleEndian.Uint64(in) << nb
				k := (63 - nb) >> 3
				in = in[k:]
				nb += k << 3
			} else {
				f.bits, f.nb, f.in = bits, nb, in
				f.refill()
				bits, nb, in = f.bits, f.nb, f.in
			}
		}
		// A literal/length code, at most 15 bits.
		e := lit[uint(bits)&litMask]
		if e>>4&15 == kindLink {
			// Subtables lie inside the table (build checks): the mask
			// only spares a bounds check.
			e = lit[(uint(e>>16)+uint(bits>>litRootBits)&(1<<(e>>8&15)-1))&(litTableSize-1)]
		}
		n := uint(e & 15)
		if n > nb || e>>4&15 == kindBad {
			f.bits, f.nb, f.in, f.wpos = bits, nb, in, w
			f.badCode(e)
			return
		}
		bits >>= n
		nb -= n
		switch e >> 4 & 15 {
		case kindLit:
			out[w] = byte(e >> 16)
			w++
			continue
		case kindEOB:
			f.bits, f.nb, f.in, f.wpos = bits, nb, in, w
			f.state = stateHeader
			return
		}
		// A length (RFC 1951 §3.2.5): extra bits, then a distance code
		// and its extra bits; 48 bits in all.
		k := uint(e >> 8 & 15)
		if k > nb {
			f.bits, f.nb, f.in, f.wpos = bits, nb, in, w
			f.short()
			return
		}
		length := int(e>>16) + int(uint(bits)&(1<<k-1))
		bits >>= k
		nb -= k
		if nb < 28 {
			f.bits, f.nb, f.in = bits, nb, in
			f.refill()
			bits, nb, in = f.bits, f.nb, f.in
		}
		e = dist[uint(bits)&distMask]
		if e>>4&15 == kindLink {
			e = dist[(uint(e>>16)+uint(bits>>distRootBits)&(1<<(e>>8&15)-1))&(distTableSize-1)]
		}
		n = uint(e & 15)
		if n > nb || e>>4&15 == kindBad {
			f.bits, f.nb, f.in, f.wpos = bits, nb, in, w
			f.badCode(e)
			return
		}
		bits >>= n
		nb -= n
		k = uint(e >> 8 & 15)
		if k > nb {
			f.bits, f.nb, f.in, f.wpos = bits, nb, in, w
			f.short()
			return
		}
		d := int(e>>16) + int(uint(bits)&(1<<k-1))
		bits >>= k
		nb -= k
		// Copy length bytes from d back; they may overlap.
		from := w - d
		if from < f.lo && !f.fill(from) {
			// Before the start of the history.
			f.bits, f.nb, f.in, f.wpos = bits, nb, in, w
			f.err = errCorrupt
			return
		}
		switch {
		case d >= length:
			copy(out[w:w+length], out[from:from+length])
		case d >= 8:
			for i := 0; i < length; i += 8 {
				binary.LittleEndian.PutUint64(out[w+i:], binary.LittleEndian.Uint64(out[from+i:]))
			}
		case d == 1:
			b := out[from]
			for i := range out[w : w+length] {
				out[w+i] = b
			}
		default:
			for i := range length {
				out[w+i] = out[from+i]
			}
		}
		w += length
	}
	f.bits, f.nb, f.in, f.wpos = bits, nb, in, w
}

// badCode records the error of a code that did not decode: input cut
// short (when the code needs more bits than are left, or the bits left
// run out before any code could end), or no such code.
func (f *inflater) badCode(e uint32) {
	if uint(e&15) > f.nb || f.nb < maxCodeBits && f.inputEnded() {
		f.short()
		return
	}
	f.err = errCorrupt
}

// inputEnded reports whether no input is left beyond the bit buffer.
func (f *inflater) inputEnded() bool {
	return len(f.in) == 0 && !f.more()
}

// more takes the next piece of input from the source; false at its end.
func (f *inflater) more() bool {
	if len(f.src.avail) == 0 && !f.src.fill() {
		return false
	}
	f.in, f.src.avail = f.src.avail, nil
	return true
}
