package deflate

import "math/bits"

// huffBuilder computes length-limited Huffman code lengths. Its buffers
// are part of the pooled scratch space, so building a code allocates
// nothing.
type huffBuilder struct {
	keys  [numLitLen]uint32 // frequency<<9 | symbol, of the used symbols
	tmp   [numLitLen]uint32 // the other half of the radix sort
	depth [numLitLen]uint32 // work array of the tree construction
	count [maxCodeBits + 2]int32
	radix [256]uint16
}

// lengths sets lens[i] to the code length of symbol i for the
// frequencies freq (each below 2^17), no code longer than maxBits, and
// returns the largest symbol with a non-zero length plus one. Unused
// symbols get length 0.
//
// A code with fewer than two symbols is padded to two, each of length 1:
// RFC 1951 §3.2.7 allows a single distance code of one bit, and some
// decoders reject a code that is not complete, so the output always has a
// complete code (zlib does the same).
func (b *huffBuilder) lengths(freq []uint32, lens []uint8, maxBits int) int {
	n := 0
	var all uint32
	for i, f := range freq {
		lens[i] = 0
		if f != 0 {
			// Frequencies are below 2^17 (a block has at most 65535
			// bytes), so a key fits 26 bits.
			b.keys[n] = f<<9 | uint32(i)
			all |= f
			n++
		}
	}
	if n < 2 {
		// Pad with the lowest unused symbols.
		for i := 0; n < 2; i++ {
			if freq[i] == 0 {
				b.keys[n] = uint32(i)
				n++
			}
		}
		s0, s1 := int(b.keys[0]&0x1ff), int(b.keys[1]&0x1ff)
		lens[s0], lens[s1] = 1, 1
		return max(s0, s1) + 1
	}
	// Sort by frequency, stably, so that equal frequencies stay in
	// symbol order: a radix sort by bytes of the frequency.
	keys := b.keys[:n]
	for shift := uint(9); shift < 9+17 && all>>(shift-9) != 0; shift += 8 {
		b.radixPass(keys, b.tmp[:n], shift)
		copy(keys, b.tmp[:n])
	}

	// The in-place algorithm of Moffat and Katajainen ("In-place
	// calculation of minimum-redundancy codes", 1995) on the weights in
	// ascending order: phase 1 combines the two lightest items (leaves
	// from the front, internal nodes from a queue growing behind it) and
	// leaves parent pointers, phase 2 turns them into depths of the
	// internal nodes, phase 3 hands out leaf depths, deepest first.
	a := b.depth[:n]
	for i, k := range keys {
		a[i] = k >> 9
	}
	leaf, node := 0, 0
	for t := 0; t < n-1; t++ {
		// First child.
		if leaf >= n || (node < t && a[node] < a[leaf]) {
			a[t] = a[node]
			a[node] = uint32(t)
			node++
		} else {
			a[t] = a[leaf]
			leaf++
		}
		// Second child.
		if leaf >= n || (node < t && a[node] < a[leaf]) {
			a[t] += a[node]
			a[node] = uint32(t)
			node++
		} else {
			a[t] += a[leaf]
			leaf++
		}
	}
	a[n-2] = 0
	for t := n - 3; t >= 0; t-- {
		a[t] = a[a[t]] + 1
	}
	avail, used, d := 1, 0, uint32(0)
	t, x := n-2, n-1
	for avail > 0 {
		for t >= 0 && a[t] == d {
			used++
			t--
		}
		for avail > used {
			a[x] = d
			x--
			avail--
		}
		avail, used, d = 2*used, 0, d+1
	}

	// a[i] is now the length of the i-th lightest symbol; lengths do not
	// increase with weight. Limit them to maxBits: count the lengths,
	// clamping longer ones, then restore Kraft's equality
	// sum(2^-len) = 1 by taking a leaf off the deepest level and moving a
	// leaf from the deepest level above it one level down (which makes
	// room for two leaves there), as often as the clamping overfilled.
	count := b.count[:maxBits+1]
	clear(count)
	over := false
	for _, l := range a {
		if int(l) > maxBits {
			l = uint32(maxBits)
			over = true
		}
		count[l]++
	}
	if over {
		total := 0
		for l := 1; l <= maxBits; l++ {
			total += int(count[l]) << (maxBits - l)
		}
		for ; total > 1<<maxBits; total-- {
			count[maxBits]--
			for l := maxBits - 1; l > 0; l-- {
				if count[l] > 0 {
					count[l]--
					count[l+1] += 2
					break
				}
			}
		}
		// Hand the lengths out again, longest to the lightest.
		i := 0
		for l := maxBits; l > 0; l-- {
			for c := count[l]; c > 0; c-- {
				a[i] = uint32(l)
				i++
			}
		}
	}
	top := 0
	for i, k := range keys {
		s := int(k & 0x1ff)
		lens[s] = uint8(a[i])
		top = max(top, s+1)
	}
	return top
}

// radixPass sorts keys into out, stably, by the byte at shift.
func (b *huffBuilder) radixPass(keys, out []uint32, shift uint) {
	c := &b.radix
	clear(c[:])
	for _, k := range keys {
		c[byte(k>>shift)]++
	}
	sum := uint16(0)
	for i, v := range c {
		c[i] = sum
		sum += v
	}
	for _, k := range keys {
		d := byte(k >> shift)
		out[c[d]] = k
		c[d]++
	}
}

// canonicalCodes sets codes[i] to the canonical code of length lens[i]
// (RFC 1951 §3.2.2), bit-reversed for the LSB-first bit stream and packed
// as code | length<<24. Unused symbols get 0; codes beyond len(lens) are
// left alone.
func canonicalCodes(codes []uint32, lens []uint8) {
	var count [maxCodeBits + 1]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [maxCodeBits + 1]uint16
	code := uint16(0)
	for l := 1; l <= maxCodeBits; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	for i, l := range lens {
		if l == 0 {
			codes[i] = 0
			continue
		}
		c := next[l]
		next[l]++
		codes[i] = uint32(bits.Reverse16(c)>>(16-l)) | uint32(l)<<24
	}
}
