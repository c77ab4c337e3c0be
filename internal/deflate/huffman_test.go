package deflate

import (
	"math/rand/v2"
	"testing"
)

// checkLengths checks that lens is a complete prefix code (Kraft's sum is
// exactly 1, RFC 1951 §3.2.2 needs no more) within maxBits, that used
// symbols have codes and unused ones none, and that heavier symbols never
// have longer codes.
func checkLengths(t *testing.T, freq []uint32, lens []uint8, maxBits int) {
	t.Helper()
	kraft := 0
	used := 0
	for i, l := range lens {
		if int(l) > maxBits {
			t.Fatalf("symbol %d: length %d > %d", i, l, maxBits)
		}
		if freq[i] != 0 {
			used++
			if l == 0 {
				t.Fatalf("symbol %d has frequency %d but no code", i, freq[i])
			}
		}
		if l != 0 {
			kraft += 1 << (maxBits - int(l))
		}
	}
	if kraft != 1<<maxBits {
		t.Fatalf("Kraft sum %d/%d: not a complete code (lengths %v)", kraft, 1<<maxBits, lens)
	}
	for i := range lens {
		for j := range lens {
			if freq[i] > freq[j] && freq[j] != 0 && lens[i] > lens[j] {
				t.Fatalf("symbol %d (frequency %d) has length %d, longer than symbol %d (frequency %d, length %d)", i, freq[i], lens[i], j, freq[j], lens[j])
			}
		}
	}
}

// TestHuffmanLengths covers the special cases and the length limit.
func TestHuffmanLengths(t *testing.T) {
	var b huffBuilder
	fib := make([]uint32, 30)
	fib[0], fib[1] = 1, 1
	for i := 2; i < len(fib); i++ {
		fib[i] = fib[i-1] + fib[i-2] // a Huffman tree 29 levels deep
	}
	cases := []struct {
		name    string
		freq    []uint32
		maxBits int
	}{
		{"none", make([]uint32, 30), 15},
		{"one", []uint32{0, 0, 7, 0}, 15},
		{"one-at-0", []uint32{5, 0, 0}, 15},
		{"two", []uint32{3, 0, 9}, 15},
		{"uniform-286", func() []uint32 {
			f := make([]uint32, 286)
			for i := range f {
				f[i] = 10
			}
			return f
		}(), 15},
		{"fibonacci-15", fib, 15},
		{"fibonacci-7", fib[:19], 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lens := make([]uint8, len(tc.freq))
			top := b.lengths(tc.freq, lens, tc.maxBits)
			checkLengths(t, tc.freq, lens, tc.maxBits)
			for i := top; i < len(lens); i++ {
				if lens[i] != 0 {
					t.Fatalf("lengths returned %d but symbol %d has a code", top, i)
				}
			}
			if top == 0 || lens[top-1] == 0 {
				t.Fatalf("lengths returned %d, last symbol with a code is not %d", top, top-1)
			}
		})
	}
}

// TestHuffmanOptimal compares the code lengths with an unlimited Huffman
// code built the textbook way: without the limit in play the total cost
// must be the same.
func TestHuffmanOptimal(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var b huffBuilder
	for range 200 {
		n := 2 + r.IntN(285)
		freq := make([]uint32, n)
		for i := range freq {
			if r.IntN(3) > 0 {
				freq[i] = uint32(1 + r.IntN(1000))
			}
		}
		lens := make([]uint8, n)
		b.lengths(freq, lens, 15)
		checkLengths(t, freq, lens, 15)
		got := 0
		for i, f := range freq {
			got += int(f) * int(lens[i])
		}
		// One used symbol gets a 1-bit code; the textbook's costs nothing.
		if want, depth := textbookCost(freq); depth <= 15 && depth > 0 && got != want {
			t.Fatalf("cost %d, textbook Huffman %d (frequencies %v)", got, want, freq)
		}
	}
}

// textbookCost is the cost of a Huffman code, summing the weights of all
// merged nodes (each merge adds one bit to every symbol below it), and
// the depth of its tree.
func textbookCost(freq []uint32) (cost, depth int) {
	type node struct{ w, depth int }
	var w []node
	for _, f := range freq {
		if f != 0 {
			w = append(w, node{int(f), 0})
		}
	}
	for len(w) > 1 {
		// Take the two smallest.
		for k := range 2 {
			m := k
			for i := k; i < len(w); i++ {
				if w[i].w < w[m].w {
					m = i
				}
			}
			w[k], w[m] = w[m], w[k]
		}
		s := node{w[0].w + w[1].w, max(w[0].depth, w[1].depth) + 1}
		cost += s.w
		w = append(w[2:], s)
	}
	if len(w) == 1 {
		depth = w[0].depth
	}
	return cost, depth
}

// FuzzHuffmanLengths checks the length-limited code on arbitrary
// frequencies: complete, within the limit, monotone.
func FuzzHuffmanLengths(f *testing.F) {
	f.Add([]byte{1, 1, 2, 3, 5, 8, 13, 21}, uint8(15))
	f.Add([]byte{0, 0, 0, 9}, uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, maxBits uint8) {
		mb := 7 + int(maxBits)%9 // 7..15
		if len(data) > 2*numLitLen {
			data = data[:2*numLitLen]
		}
		freq := make([]uint32, len(data)/2)
		for i := range freq {
			// Spread the weights over a wide range to reach deep trees.
			freq[i] = uint32(data[2*i]) << (data[2*i+1] % 10) // below 2^17
		}
		if len(freq) < 2 || len(freq) > 1<<mb {
			return // no code of at most mb bits has that many symbols
		}
		lens := make([]uint8, len(freq))
		var b huffBuilder
		b.lengths(freq, lens, mb)
		checkLengths(t, freq, lens, mb)
	})
}
