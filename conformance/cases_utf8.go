package conformance

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// Autobahn|Testsuite's category 6, UTF-8 handling: 6.1-6.4 as in its
// case6_1_1.py … case6_4_4.py, and 6.5-6.23, the sequences of Markus
// Kuhn's "UTF-8 decoder capability and stress test" in the groups and the
// order of its case6_x_x.py, each sent as one text message.

func init() { builders = append(builders, utf8Cases) }

// kuhnGroup is one group of the stress test: its title and its sequences,
// each valid or not.
type kuhnGroup struct {
	title string
	seqs  []kuhnSeq
}

type kuhnSeq struct {
	valid bool
	data  []byte
}

// kosme is "κόσμε", the Greek word of the stress test's section 1.
var kosme = []byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")

// kuhnGroups returns the 19 groups of 6.5-6.23, 132 sequences in all.
func kuhnGroups() []kuhnGroup {
	v := func(s string) kuhnSeq { return kuhnSeq{true, []byte(s)} }
	x := func(s string) kuhnSeq { return kuhnSeq{false, []byte(s)} }
	var gs []kuhnGroup
	add := func(title string, seqs ...kuhnSeq) { gs = append(gs, kuhnGroup{title, seqs}) }

	add("Some valid UTF-8 sequences",
		v("hello$world"), v("hello\xc2\xa2world"), v("hello\xe2\x82\xacworld"), v("hello\xf0\xa4\xad\xa2world"), v(string(kosme)))
	// Every prefix of κόσμε: valid where it ends on a code point.
	var prefixes []kuhnSeq
	for i := 1; i <= len(kosme); i++ {
		prefixes = append(prefixes, kuhnSeq{utf8.Valid(kosme[:i]), kosme[:i]})
	}
	add("All prefixes of a valid UTF-8 string that contains multi-byte code points", prefixes...)
	add("First possible sequence of a certain length", v("\x00"), v("\xc2\x80"), v("\xe0\xa0\x80"), v("\xf0\x90\x80\x80"))
	add("First possible sequence length 5/6 (invalid codepoints)", x("\xf8\x88\x80\x80\x80"), x("\xfc\x84\x80\x80\x80\x80"))
	add("Last possible sequence of a certain length", v("\x7f"), v("\xdf\xbf"), v("\xef\xbf\xbf"), v("\xf4\x8f\xbf\xbf"))
	add("Last possible sequence length 4/5/6 (invalid codepoints)", x("\xf7\xbf\xbf\xbf"), x("\xfb\xbf\xbf\xbf\xbf"), x("\xfd\xbf\xbf\xbf\xbf\xbf"))
	add("Other boundary conditions", v("\xed\x9f\xbf"), v("\xee\x80\x80"), v("\xef\xbf\xbd"), v("\xf4\x8f\xbf\xbf"), x("\xf4\x90\x80\x80"))
	// Unexpected continuation bytes: 1 to 6 of them alternating 0x80 and
	// 0xbf, then every byte from 0x80 up to (not including) 0xbf.
	var cont []kuhnSeq
	alt := []byte{0x80, 0xbf, 0x80, 0xbf, 0x80, 0xbf}
	cont = append(cont, x("\x80"), x("\xbf"))
	for n := 2; n <= 6; n++ {
		cont = append(cont, kuhnSeq{false, alt[:n]})
	}
	var all []byte
	for c := 0x80; c < 0xbf; c++ {
		all = append(all, byte(c))
	}
	cont = append(cont, kuhnSeq{false, all})
	add("Unexpected continuation bytes", cont...)
	// Lonely start bytes, each followed by a space; each range stops one
	// short of its last byte, as the stress test's generator does.
	var lonely []kuhnSeq
	for _, r := range [][2]int{{0xc0, 0xdf}, {0xe0, 0xef}, {0xf0, 0xf7}, {0xf8, 0xfb}, {0xfc, 0xfd}} {
		var s []byte
		for c := r[0]; c < r[1]; c++ {
			s = append(s, byte(c), ' ')
		}
		lonely = append(lonely, kuhnSeq{false, s})
	}
	add("Lonely start characters", lonely...)
	missing := []string{"\xc0", "\xe0\x80", "\xf0\x80\x80", "\xf8\x80\x80\x80", "\xfc\x80\x80\x80\x80",
		"\xdf", "\xef\xbf", "\xf7\xbf\xbf", "\xfb\xbf\xbf\xbf", "\xfd\xbf\xbf\xbf\xbf"}
	var miss []kuhnSeq
	var concat string
	for _, m := range missing {
		miss = append(miss, x(m))
		concat += m
	}
	add("Sequences with last continuation byte missing", miss...)
	add("Concatenation of incomplete sequences", x(concat))
	add("Impossible bytes", x("\xfe"), x("\xff"), x("\xfe\xfe\xff\xff"))
	add("Examples of an overlong ASCII character", x("\xc0\xaf"), x("\xe0\x80\xaf"), x("\xf0\x80\x80\xaf"), x("\xf8\x80\x80\x80\xaf"), x("\xfc\x80\x80\x80\x80\xaf"))
	add("Maximum overlong sequences", x("\xc1\xbf"), x("\xe0\x9f\xbf"), x("\xf0\x8f\xbf\xbf"), x("\xf8\x87\xbf\xbf\xbf"), x("\xfc\x83\xbf\xbf\xbf\xbf"))
	add("Overlong representation of the NUL character", x("\xc0\x80"), x("\xe0\x80\x80"), x("\xf0\x80\x80\x80"), x("\xf8\x80\x80\x80\x80"), x("\xfc\x80\x80\x80\x80\x80"))
	add("Single UTF-16 surrogates", x("\xed\xa0\x80"), x("\xed\xad\xbf"), x("\xed\xae\x80"), x("\xed\xaf\xbf"), x("\xed\xb0\x80"), x("\xed\xbe\x80"), x("\xed\xbf\xbf"))
	add("Paired UTF-16 surrogates",
		x("\xed\xa0\x80\xed\xb0\x80"), x("\xed\xa0\x80\xed\xbf\xbf"), x("\xed\xad\xbf\xed\xb0\x80"), x("\xed\xad\xbf\xed\xbf\xbf"),
		x("\xed\xae\x80\xed\xb0\x80"), x("\xed\xae\x80\xed\xbf\xbf"), x("\xed\xaf\xbf\xed\xb0\x80"), x("\xed\xaf\xbf\xed\xbf\xbf"))
	// Noncharacters are valid UTF-8 (RFC 3629): U+FFFE, U+FFFF and the
	// last two code points of planes 1 to 16, leaving out the overlong
	// F0 8F BF BE/BF.
	nonchars := []kuhnSeq{v("\xef\xbf\xbe"), v("\xef\xbf\xbf")}
	for _, z1 := range []byte{0xf0, 0xf1, 0xf2, 0xf3, 0xf4} {
		for _, z2 := range []byte{0x8f, 0x9f, 0xaf, 0xbf} {
			if z1 == 0xf4 && z2 != 0x8f {
				continue // beyond U+10FFFF
			}
			for _, z3 := range []byte{0xbe, 0xbf} {
				if z1 == 0xf0 && z2 == 0x8f {
					continue // overlong
				}
				nonchars = append(nonchars, kuhnSeq{true, []byte{z1, z2, 0xbf, z3}})
			}
		}
	}
	add("Non-character code points (valid UTF-8)", nonchars...)
	add("Unicode specials (i.e. replacement char)",
		v("\xef\xbf\xb9"), v("\xef\xbf\xba"), v("\xef\xbf\xbb"), v("\xef\xbf\xbc"), v("\xef\xbf\xbd"), v("\xef\xbf\xbe"), v("\xef\xbf\xbf"))
	return gs
}

func utf8Cases(b *builder) {
	add := func(id, desc, expect, rule string, run func(*session)) {
		b.add(&wsCase{id: id, desc: desc, expect: expect, rule: rule, run: run})
	}
	echo := func(want []byte, send func(s *session)) func(*session) {
		return func(s *session) {
			s.expect(OK, textMsg(want))
			normalClose(s)
			send(s)
			s.closeAfter(1)
		}
	}
	const echoed = "The peer echoes the message; the harness then closes with 1000."
	add("6.1.1", "Send a text message with an empty payload.", echoed, ruleReceive,
		echo(nil, func(s *session) { s.sendFrame(frameSpec{op: opText, fin: true}) }))
	add("6.1.2", "Send a text message in three fragments, each empty.", echoed, ruleReceive,
		echo(nil, func(s *session) {
			s.send(frameSpec{op: opText}, frameSpec{op: opCont}, frameSpec{op: opCont, fin: true})
		}))
	middle := []byte("middle frame payload")
	add("6.1.3", "Send a text message in three fragments: empty, \"middle frame payload\", empty.", echoed, ruleReceive,
		echo(middle, func(s *session) {
			s.send(frameSpec{op: opText}, frameSpec{op: opCont, payload: middle}, frameSpec{op: opCont, fin: true})
		}))
	greeting := []byte("Hello-µ@ßöäüàá-UTF-8!!")
	add("6.2.1", fmt.Sprintf("Send the valid UTF-8 text message %q (% x) in one frame.", greeting, greeting), echoed, ruleReceive,
		echo(greeting, func(s *session) { s.sendMessage(greeting, false, 0) }))
	p1, p2 := []byte("Hello-µ@ßöä"), []byte("üàá-UTF-8!!")
	add("6.2.2", fmt.Sprintf("Send the valid UTF-8 text message %q in two fragments split on a code point boundary (%q, %q).", greeting, p1, p2), echoed, ruleReceive,
		echo(greeting, func(s *session) {
			s.send(frameSpec{op: opText, payload: p1}, frameSpec{op: opCont, fin: true, payload: p2})
		}))
	add("6.2.3", fmt.Sprintf("Send the valid UTF-8 text message %q in fragments of one byte, so that frames end inside code points.", greeting), echoed, ruleReceive+" "+ruleTextUTF8,
		echo(greeting, func(s *session) { s.sendMessage(greeting, false, 1) }))
	add("6.2.4", fmt.Sprintf("Send the valid UTF-8 text message %q (% x) in fragments of one byte, so that frames end inside code points.", kosme, kosme), echoed, ruleReceive+" "+ruleTextUTF8,
		echo(kosme, func(s *session) { s.sendMessage(kosme, false, 1) }))

	// 6.3: invalid exactly at byte 12 (ED A0 80, a surrogate).
	bad := seqs(kosme, []byte("\xed\xa0\x80"), []byte("edited"))
	failUTF8 := func(send func(s *session)) func(*session) {
		return func(s *session) {
			s.expect(OK)
			s.expClose = closeExpect{codes: []int{1007}, wrongEndpointFatal: true}
			send(s)
			s.killAfter(1)
		}
	}
	const failed = "The peer fails the connection with 1007 at once: the payload is not valid UTF-8."
	add("6.3.1", fmt.Sprintf("Send the invalid UTF-8 text message % x in one frame.", bad), failed, ruleUTF8,
		failUTF8(func(s *session) { s.sendMessage(bad, false, 0) }))
	add("6.3.2", fmt.Sprintf("Send the invalid UTF-8 text message % x in fragments of one byte.", bad), failed, ruleUTF8,
		failUTF8(func(s *session) { s.sendMessage(bad, false, 1) }))

	// 6.4: fail fast. The invalid part (F4 90 80 80, U+110000) arrives in
	// a second step, 1 s after a valid first part; the rest 1 s later.
	ff := seqs(kosme, []byte("\xf4\x90\x80\x80"), []byte("edited"))
	const ffExpect = "The first part is accepted: the harness's 1 s wait passes (marker A). The peer fails the connection with 1007 as soon as the invalid part arrives (OK); " +
		"when it fails only after the rest of the message (marker B): NON-STRICT; earlier or never: FAILED."
	failFast := func(parts [3][]byte, oneFrame bool) func(*session) {
		return func(s *session) {
			s.expect(OK, marker("A"))
			s.expect(NonStrict, marker("A"), marker("B"))
			s.expClose = closeExpect{codes: []int{1007}, wrongEndpointFatal: true}
			var key [4]byte
			pos := 0
			sendPart := func(i int) {
				if !oneFrame {
					f := frameSpec{op: opCont, fin: i == 2, payload: parts[i]}
					if i == 0 {
						f.op = opText
					}
					s.sendFrame(f)
					return
				}
				b := bytes.Clone(parts[i])
				if s.masked() {
					maskAt(key, pos, b)
				}
				pos += len(b)
				s.sendRaw(b, fmt.Sprintf("part %d of the frame's payload", i+1))
			}
			if oneFrame {
				// One non-final frame holding the whole payload, written in
				// three parts, then an empty final continuation frame, as
				// Autobahn's beginMessageFrame/endMessage write it.
				var hdr []byte
				hdr, key = frameHeader(opText, 0, int64(len(ff)), s.masked(), s.rng)
				s.sendRaw(hdr, "header of a non-final text frame")
			}
			sendPart(0)
			s.continueLater(1, func() {
				if s.state != stateOpen {
					return
				}
				s.mark("A")
				sendPart(1)
				s.continueLater(1, func() {
					if s.state != stateOpen {
						return
					}
					s.mark("B")
					sendPart(2)
					if oneFrame {
						s.sendFrame(frameSpec{op: opCont, fin: true})
					}
					s.killAfter(1)
				})
			})
		}
	}
	split3 := [3][]byte{ff[:11], ff[11:15], ff[15:]}
	split12 := [3][]byte{ff[:12], ff[12:13], ff[13:]}
	add("6.4.1", fmt.Sprintf("Send an invalid UTF-8 text message in three frames with 1 s between them: % x (valid), then % x (U+110000, out of range), then % x.", split3[0], split3[1], split3[2]),
		ffExpect, ruleUTF8, failFast(split3, false))
	add("6.4.2", fmt.Sprintf("As 6.4.1, but the second frame holds only the byte that makes the message invalid: % x, then % x, then % x.", split12[0], split12[1], split12[2]),
		ffExpect, ruleUTF8, failFast(split12, false))
	add("6.4.3", fmt.Sprintf("As 6.4.1, but the three parts (% x, % x, % x) are chops of one frame's payload.", split3[0], split3[1], split3[2]),
		ffExpect, ruleUTF8, failFast(split3, true))
	add("6.4.4", fmt.Sprintf("As 6.4.2, but the three parts (% x, % x, % x) are chops of one frame's payload.", split12[0], split12[1], split12[2]),
		ffExpect, ruleUTF8, failFast(split12, true))

	for gi, g := range kuhnGroups() {
		for i, sq := range g.seqs {
			id := fmt.Sprintf("6.%d.%d", gi+5, i+1)
			if sq.valid {
				add(id, fmt.Sprintf("%s: send a text message whose payload is valid UTF-8, in one frame: % x.", g.title, trim(sq.data)),
					"The peer echoes the message; the harness then closes with 1000.", ruleReceive,
					func(s *session) {
						s.expect(OK, textMsg(sq.data))
						normalClose(s)
						s.sendMessage(sq.data, false, 0)
						s.killAfter(0.5)
					})
				continue
			}
			add(id, fmt.Sprintf("%s: send a text message whose payload is not valid UTF-8, in one frame: % x.", g.title, trim(sq.data)),
				failed, ruleUTF8,
				func(s *session) {
					s.expect(OK)
					s.expClose = closeExpect{codes: []int{1007}, wrongEndpointFatal: true}
					s.sendMessage(sq.data, false, 0)
					s.killAfter(0.5)
				})
		}
	}
}
