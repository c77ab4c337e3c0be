package conformance

import (
	"bytes"
	"fmt"
)

// pushwire's own UTF-8 decoder set (16.x), built from the Unicode rules
// (Unicode §3.9 Table 3-7, RFC 3629) rather than from a sample file:
// boundaries of every sequence length, noncharacters, and every class of
// ill-formed sequence, each in a text message of its own, graded as
// Autobahn grades its 6.5-6.23.

func init() { builders = append(builders, unicodeCases) }

// enc encodes code point r in UTF-8 form without Go's checks, so that
// surrogates can be produced: 1 to 4 bytes by the bit layout of RFC 3629
// §3, always the shortest form.
func enc(r rune) []byte {
	switch {
	case r < 0x80:
		return []byte{byte(r)}
	case r < 0x800:
		return []byte{0xc0 | byte(r>>6), 0x80 | byte(r)&0x3f}
	case r < 0x10000:
		return []byte{0xe0 | byte(r>>12), 0x80 | byte(r>>6)&0x3f, 0x80 | byte(r)&0x3f}
	default:
		return []byte{0xf0 | byte(r>>18), 0x80 | byte(r>>12)&0x3f, 0x80 | byte(r>>6)&0x3f, 0x80 | byte(r)&0x3f}
	}
}

// encN encodes r in exactly n bytes (n from 1 to 6, with the pre-2003
// 5- and 6-byte forms), giving overlong forms when n is larger than needed.
func encN(r rune, n int) []byte {
	if n == 1 {
		return []byte{byte(r)}
	}
	out := make([]byte, n)
	for i := n - 1; i > 0; i-- {
		out[i] = 0x80 | byte(r)&0x3f
		r >>= 6
	}
	lead := byte(0xff) << (8 - n) // n high bits set
	out[0] = lead | byte(r)
	return out
}

// seqs concatenates byte sequences.
func seqs(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

type utf8Sample struct {
	name  string
	data  []byte
	valid bool
}

// utf8Stress returns the stress groups built from the Unicode rules
// (Unicode §3.9 Table 3-7, RFC 3629): boundaries, noncharacters, and
// every class of ill-formed sequence.
func utf8Stress() [][]utf8Sample {
	var groups [][]utf8Sample
	cp := func(rs ...rune) []byte {
		var b []byte
		for _, r := range rs {
			b = append(b, enc(r)...)
		}
		return b
	}
	// Boundary code points: first and last of each length, and the edges
	// of the surrogate gap and of the code space.
	var g []utf8Sample
	for _, r := range []rune{0x0000, 0x0080, 0x0800, 0x10000, 0x007f, 0x07ff, 0xffff, 0x10ffff, 0xd7ff, 0xe000, 0xfffd} {
		g = append(g, utf8Sample{fmt.Sprintf("U+%04X", r), cp(r), true})
	}
	groups = append(groups, g)
	// Noncharacters are valid UTF-8 (Unicode Corrigendum #9).
	g = nil
	g = append(g, utf8Sample{"U+FDD0..U+FDEF", func() []byte {
		var b []byte
		for r := rune(0xfdd0); r <= 0xfdef; r++ {
			b = append(b, enc(r)...)
		}
		return b
	}(), true})
	for plane := rune(0); plane <= 0x10; plane++ {
		g = append(g, utf8Sample{fmt.Sprintf("U+%04X and U+%04X", plane<<16|0xfffe, plane<<16|0xffff), cp(plane<<16|0xfffe, plane<<16|0xffff), true})
	}
	groups = append(groups, g)
	// Unexpected continuation bytes.
	g = nil
	for n := 1; n <= 7; n++ {
		var b []byte
		for i := range n {
			b = append(b, 0x80+byte(i*0x3f/6))
		}
		g = append(g, utf8Sample{fmt.Sprintf("%d continuation byte(s)", n), b, false})
	}
	all := make([]byte, 0, 64)
	for c := 0x80; c <= 0xbf; c++ {
		all = append(all, byte(c))
	}
	g = append(g, utf8Sample{"all 64 continuation bytes 0x80-0xBF", all, false})
	groups = append(groups, g)
	// Lonely start bytes, each followed by a space.
	g = nil
	for _, r := range [][2]int{{0xc0, 0xdf}, {0xe0, 0xef}, {0xf0, 0xf7}, {0xf8, 0xfb}, {0xfc, 0xfd}} {
		var b []byte
		for c := r[0]; c <= r[1]; c++ {
			b = append(b, byte(c), ' ')
		}
		g = append(g, utf8Sample{fmt.Sprintf("start bytes 0x%02X-0x%02X each followed by a space", r[0], r[1]), b, false})
	}
	groups = append(groups, g)
	// Sequences with the last continuation byte missing: the lowest and
	// highest values of each length, 2 to 6 bytes.
	g = nil
	var incompletes []byte
	for n := 2; n <= 6; n++ {
		lo := encN(0, n)
		hi := encN(1<<(5*n+1)-1, n)
		if n == 2 {
			hi = encN(0x7ff, 2)
		}
		if n == 4 {
			lo, hi = enc(0x10000), encN(0x1fffff, 4)
		}
		for _, s := range [][]byte{lo, hi} {
			cut := s[:len(s)-1]
			incompletes = append(incompletes, cut...)
			g = append(g, utf8Sample{fmt.Sprintf("% X without its last byte", s), bytes.Clone(cut), false})
		}
	}
	g = append(g, utf8Sample{"all the incomplete sequences above, concatenated", incompletes, false})
	groups = append(groups, g)
	// Impossible bytes.
	groups = append(groups, []utf8Sample{
		{"0xFE", []byte{0xfe}, false}, {"0xFF", []byte{0xff}, false}, {"0xFE 0xFE 0xFF 0xFF", []byte{0xfe, 0xfe, 0xff, 0xff}, false},
	})
	// Overlong forms: '/' in 2-6 bytes, the largest overlong of each
	// length, and NUL in 2-6 bytes.
	g = nil
	for n := 2; n <= 6; n++ {
		g = append(g, utf8Sample{fmt.Sprintf("'/' as an overlong %d-byte sequence", n), encN('/', n), false})
	}
	for _, m := range []struct {
		n int
		r rune
	}{{2, 0x7f}, {3, 0x7ff}, {4, 0xffff}, {5, 0x1fffff}, {6, 0x3ffffff}} {
		g = append(g, utf8Sample{fmt.Sprintf("U+%X, the largest overlong %d-byte sequence", m.r, m.n), encN(m.r, m.n), false})
	}
	for n := 2; n <= 6; n++ {
		g = append(g, utf8Sample{fmt.Sprintf("NUL as an overlong %d-byte sequence", n), encN(0, n), false})
	}
	groups = append(groups, g)
	// Surrogates, single and paired (UTF-8 never encodes them, RFC 3629 §3).
	g = nil
	for _, r := range []rune{0xd800, 0xdb7f, 0xdb80, 0xdbff, 0xdc00, 0xdf80, 0xdfff} {
		g = append(g, utf8Sample{fmt.Sprintf("single surrogate U+%04X", r), enc(r), false})
	}
	for _, hi := range []rune{0xd800, 0xdb7f, 0xdb80, 0xdbff} {
		for _, lo := range []rune{0xdc00, 0xdfff} {
			g = append(g, utf8Sample{fmt.Sprintf("surrogate pair U+%04X U+%04X", hi, lo), seqs(enc(hi), enc(lo)), false})
		}
	}
	groups = append(groups, g)
	// Beyond U+10FFFF.
	groups = append(groups, []utf8Sample{
		{"U+110000", encN(0x110000, 4), false},
		{"U+13FFFF", encN(0x13ffff, 4), false},
		{"U+1FFFFF", encN(0x1fffff, 4), false},
		{"a valid prefix, then U+110000", seqs([]byte("κόσμε "), encN(0x110000, 4)), false},
	})
	return groups
}

func unicodeCases(b *builder) {
	for gi, g := range utf8Stress() {
		for i, smp := range g {
			id := fmt.Sprintf("16.%d.%d", gi+1, i+1)
			if smp.valid {
				b.add(&wsCase{id: id, desc: fmt.Sprintf("Send a text message holding %s (% X), valid UTF-8, in one frame.", smp.name, trim(smp.data)),
					expect: "The peer echoes it; the harness then closes with 1000.", rule: ruleReceive,
					run: func(s *session) {
						s.expect(OK, textMsg(smp.data))
						normalClose(s)
						s.sendMessage(smp.data, false, 0)
						s.killAfter(0.5)
					}})
				continue
			}
			b.add(&wsCase{id: id, desc: fmt.Sprintf("Send a text message holding %s (% X), not valid UTF-8, in one frame.", smp.name, trim(smp.data)),
				expect: "The peer fails the connection with 1007 at once.", rule: ruleUTF8,
				run: func(s *session) {
					s.expect(OK)
					s.expClose = closeExpect{codes: []int{1007}, wrongEndpointFatal: true}
					s.sendMessage(smp.data, false, 0)
					s.killAfter(0.5)
				}})
		}
	}
}

func trim(p []byte) []byte {
	if len(p) > 24 {
		return p[:24]
	}
	return p
}
