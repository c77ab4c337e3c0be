package conformance

import (
	"bytes"
	"fmt"

	"github.com/pushwire/pushwire/wsproto/frame"
)

func init() { builders = append(builders, utf8Cases) }

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

// sampleText is valid UTF-8 mixing characters of 1 to 4 bytes.
var sampleText = []byte("pushwire: κόσμε, ✓ 中文, 𝄞 clef, ÿ€")

func utf8Cases(b *builder) {
	tf := func(p []byte, fin bool) wsFrame { return wsFrame{Fin: fin, Opcode: frame.OpText, Payload: p} }
	cf := func(p []byte, fin bool) wsFrame { return wsFrame{Fin: fin, Opcode: frame.OpContinuation, Payload: p} }
	add := func(id, desc, expect string, run func(*session)) {
		b.add(&wsCase{id: id, desc: desc, expect: expect, run: run})
	}
	add("6.1.1", "Send an empty text message.", "The peer echoes it.", echoRun(chopSpec{}, []wsFrame{text(nil)}, msgText(nil)))
	add("6.1.2", "Send an empty text message in three empty fragments.", "The peer echoes an empty text message.",
		echoRun(chopSpec{}, []wsFrame{tf(nil, false), cf(nil, false), cf(nil, true)}, msgText(nil)))
	add("6.1.3", "Send a text message as an empty fragment, a fragment \"middle\" and an empty final fragment.", "The peer echoes \"middle\".",
		echoRun(chopSpec{}, []wsFrame{tf(nil, false), cf([]byte("middle"), false), cf(nil, true)}, msgText([]byte("middle"))))

	var perChar, perByte []wsFrame
	for i, r := range string(sampleText) {
		n := len(string(r))
		perChar = append(perChar, cf(sampleText[i:i+n], false))
	}
	perChar[0].Opcode = frame.OpText
	perChar[len(perChar)-1].Fin = true
	perByte = fragments(frame.OpText, sampleText, 1)
	clef := bytes.Index(sampleText, []byte("𝄞"))
	add("6.2.1", "Send valid UTF-8 text with characters of 1 to 4 bytes in one frame.", "The peer echoes it.",
		echoRun(chopSpec{}, []wsFrame{text(sampleText)}, msgText(sampleText)))
	add("6.2.2", "Send the same text with one character per frame.", "The peer echoes it whole.",
		echoRun(chopSpec{}, perChar, msgText(sampleText)))
	add("6.2.3", "Send the same text in one frame, one octet per TCP write.", "The peer echoes it.",
		echoRun(octetWise, []wsFrame{text(sampleText)}, msgText(sampleText)))
	add("6.2.4", "Send the same text with one byte per frame, splitting every multi-byte character across frames.", "The peer echoes it whole.",
		echoRun(chopSpec{}, perByte, msgText(sampleText)))
	add("6.2.5", "Send the same text in two frames split inside the 4-byte character U+1D11E (after 2 of its bytes).", "The peer echoes it whole.",
		echoRun(chopSpec{}, []wsFrame{tf(sampleText[:clef+2], false), cf(sampleText[clef+2:], true)}, msgText(sampleText)))

	bad := seqs([]byte("valid κόσμε "), enc(0xd800), []byte(" more"))
	add("6.3.1", "Send a text message holding a surrogate (ED A0 80) in one frame (RFC 6455 §8.1: invalid UTF-8 MUST fail the connection).",
		"The peer fails the connection with 1007.", failRun(chopSpec{}, []wsFrame{text(bad)}, nil, 1007))
	add("6.3.2", "Send the same message with one byte per frame.", "The peer fails the connection with 1007.",
		failRun(chopSpec{}, fragments(frame.OpText, bad, 1), nil, 1007))

	// Fail-fast: the invalid byte arrives while the message is incomplete;
	// the peer should fail before the rest is sent.
	prefix := []byte("κόσμε, valid so far ")
	tail := []byte(" and the rest of the message")
	ff := func(id, desc string, first, rest func(s *session)) {
		add(id, desc+" The harness waits up to the case timeout before sending the rest.",
			"The peer fails the connection with 1007 before the rest of the message arrives (OK); only after it arrives: NON-STRICT.",
			func(s *session) { s.failFast(first, rest) })
	}
	ff("6.4.1", "Send a text message in three fragments: valid text, then a fragment holding U+110000 (F4 90 80 80), then (after a pause) valid text.",
		func(s *session) { s.send(tf(prefix, false), cf(encN(0x110000, 4), false)) },
		func(s *session) { s.send(cf(tail, true)) })
	ff("6.4.2", "Send a text message in three fragments: valid text ending in the lead byte F4, then the byte 90 that makes it invalid, then (after a pause) the rest.",
		func(s *session) { s.send(tf(append(bytes.Clone(prefix), 0xf4), false), cf([]byte{0x90}, false)) },
		func(s *session) { s.send(cf(append([]byte{0x80, 0x80}, tail...), true)) })
	whole := seqs(prefix, encN(0x110000, 4), tail)
	cut := len(prefix) + 2
	ff("6.4.3", "Send a text message in one frame whose payload holds U+110000; write the header and the payload up to the invalid bytes, then (after a pause) the rest of the frame.",
		func(s *session) {
			b := s.frameBytes(text(whole))
			s.rest = b[len(b)-len(whole)+cut:]
			s.sendBytes(b[:len(b)-len(whole)+cut], chopSpec{})
		},
		func(s *session) { s.sendBytes(s.rest, chopSpec{}) })
	ff("6.4.4", "As 6.4.3, but the bytes up to the invalid one are written one octet per TCP write.",
		func(s *session) {
			b := s.frameBytes(text(whole))
			s.rest = b[len(b)-len(whole)+cut:]
			s.sendBytes(b[:len(b)-len(whole)+cut], octetWise)
		},
		func(s *session) { s.sendBytes(s.rest, chopSpec{}) })

	for gi, g := range utf8Stress() {
		for i, smp := range g {
			id := fmt.Sprintf("6.%d.%d", gi+5, i+1)
			if smp.valid {
				add(id, fmt.Sprintf("Send a text message holding %s (% X), valid UTF-8.", smp.name, trim(smp.data)), "The peer echoes it.",
					echoRun(chopSpec{}, []wsFrame{text(smp.data)}, msgText(smp.data)))
			} else {
				add(id, fmt.Sprintf("Send a text message holding %s (% X), not valid UTF-8.", smp.name, trim(smp.data)), "The peer fails the connection with 1007.",
					failRun(chopSpec{}, []wsFrame{text(smp.data)}, nil, 1007))
			}
		}
	}
}

func trim(p []byte) []byte {
	if len(p) > 24 {
		return p[:24]
	}
	return p
}

// failFast sends first (which holds an invalid byte of a text message),
// waits for the peer to fail, and sends rest if it has not.
func (s *session) failFast(first, rest func(*session)) {
	s.expClose = &closeExpect{codes: []int{1007}}
	first(s)
	if s.wait(s.timeout, s.closedByPeer) {
		s.gradeFail(true, nil, Failed)
		return
	}
	s.log(Event{Dir: "note", Kind: "timeout", Text: "the peer has not failed the connection yet; sending the rest of the message"})
	rest(s)
	failed := s.wait(s.timeout, s.closedByPeer)
	s.gradeFail(failed, nil, NonStrict)
}
