package conformance

import (
	"bytes"
	"fmt"
	"time"

	"github.com/pushwire/pushwire/wsproto/frame"
)

func init() {
	builders = append(builders, framingCases, pingCases, rsvCases, opcodeCases, fragmentCases, closeCases)
}

// textPayload returns n bytes of ASCII text made by the harness.
func textPayload(n int) []byte {
	const words = "pushwire writes every frame by hand, byte by byte; "
	p := make([]byte, n)
	for i := range p {
		p[i] = words[i%len(words)]
	}
	return p
}

// binaryPayload returns n bytes covering every octet value.
func binaryPayload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*31 + i>>8 + 7)
	}
	return p
}

// echoRun sends frames (split as chop says) and expects want back.
func echoRun(chop chopSpec, frames []wsFrame, want ...obs) func(*session) {
	return func(s *session) {
		s.sendChopped(chop, frames...)
		s.expectEcho(want, echoOpts{})
	}
}

// failRun sends frames and expects the peer to fail the connection with
// one of codes after sending back exactly want.
func failRun(chop chopSpec, frames []wsFrame, want []obs, codes ...int) func(*session) {
	return func(s *session) {
		s.sendChopped(chop, frames...)
		s.expectFail(want, codes...)
	}
}

// eachRun sends frames one by one with a pause between them.
func (s *session) sendEach(pause time.Duration, frames ...wsFrame) {
	for i, f := range frames {
		if i > 0 {
			time.Sleep(pause)
		}
		s.send(f)
	}
}

var (
	octetWise = chopSpec{Size: 1}
	slowChop  = chopSpec{Size: 1, Pause: time.Millisecond}
)

var sizes1 = []int{0, 125, 126, 127, 128, 65535, 65536}

func framingCases(b *builder) {
	for k, kind := range []struct {
		name string
		op   frame.Opcode
		gen  func(int) []byte
		msg  func([]byte) obs
	}{{"text", frame.OpText, textPayload, msgText}, {"binary", frame.OpBinary, binaryPayload, msgBinary}} {
		for i, n := range sizes1 {
			p := kind.gen(n)
			b.add(&wsCase{
				id:     fmt.Sprintf("1.%d.%d", k+1, i+1),
				desc:   fmt.Sprintf("Send a %s message with a %d-byte payload in one frame.", kind.name, n),
				expect: "The peer echoes the message unchanged, then closes normally when asked.",
				run:    echoRun(chopSpec{}, []wsFrame{{Fin: true, Opcode: kind.op, Payload: p}}, kind.msg(p)),
			})
		}
		p := kind.gen(65536)
		b.add(&wsCase{
			id:     fmt.Sprintf("1.%d.%d", k+1, len(sizes1)+1),
			desc:   fmt.Sprintf("Send a %s message with a 65536-byte payload in one frame, written to TCP in chops of 997 bytes.", kind.name),
			expect: "The peer echoes the message unchanged.",
			run:    echoRun(chopSpec{Size: 997}, []wsFrame{{Fin: true, Opcode: kind.op, Payload: p}}, kind.msg(p)),
		})
	}
}

func pingCases(b *builder) {
	p125 := binaryPayload(125)
	b.add(&wsCase{id: "2.1", desc: "Send a ping with an empty payload.", expect: "A pong with an empty payload.",
		run: echoRun(chopSpec{}, []wsFrame{ping(nil)}, obsPong(nil))})
	t := []byte("ping: Hello, pushwire")
	b.add(&wsCase{id: "2.2", desc: "Send a ping with a short text payload.", expect: "A pong with the same payload.",
		run: echoRun(chopSpec{}, []wsFrame{ping(t)}, obsPong(t))})
	bin := []byte{0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff}
	b.add(&wsCase{id: "2.3", desc: "Send a ping with a short binary payload (not UTF-8).", expect: "A pong with the same payload.",
		run: echoRun(chopSpec{}, []wsFrame{ping(bin)}, obsPong(bin))})
	b.add(&wsCase{id: "2.4", desc: "Send a ping with a 125-byte payload, the largest allowed.", expect: "A pong with the same payload.",
		run: echoRun(chopSpec{}, []wsFrame{ping(p125)}, obsPong(p125))})
	b.add(&wsCase{id: "2.5", desc: "Send a ping with a 126-byte payload (RFC 6455 §5.5: control frames MUST have a payload of 125 bytes or less).",
		expect: "The peer fails the connection with 1002, without a pong.",
		run:    failRun(chopSpec{}, []wsFrame{ping(binaryPayload(126))}, nil, 1002)})
	b.add(&wsCase{id: "2.6", desc: "Send a ping with a 125-byte payload, one octet per TCP write with 1 ms between.",
		expect: "A pong with the same payload.",
		run:    echoRun(slowChop, []wsFrame{ping(p125)}, obsPong(p125))})
	b.add(&wsCase{id: "2.7", desc: "Send an unsolicited pong with an empty payload.", expect: "Nothing: an unsolicited pong is ignored (RFC 6455 §5.5.3).",
		run: echoRun(chopSpec{}, []wsFrame{pong(nil)})})
	b.add(&wsCase{id: "2.8", desc: "Send an unsolicited pong with a payload.", expect: "Nothing.",
		run: echoRun(chopSpec{}, []wsFrame{pong([]byte("unsolicited pong"))})})
	b.add(&wsCase{id: "2.9", desc: "Send an unsolicited pong, then a ping.", expect: "A pong for the ping only.",
		run: echoRun(chopSpec{}, []wsFrame{pong([]byte("unsolicited")), ping([]byte("solicited"))}, obsPong([]byte("solicited")))})
	for i, chop := range []chopSpec{{}, octetWise} {
		var frames []wsFrame
		var want []obs
		for j := range 10 {
			p := fmt.Appendf(nil, "ping %d of ten", j)
			frames = append(frames, ping(p))
			want = append(want, obsPong(p))
		}
		how := "in one write"
		if chop.Size == 1 {
			how = "one octet per TCP write"
		}
		b.add(&wsCase{id: fmt.Sprintf("2.%d", 10+i), desc: "Send ten pings with distinct payloads, " + how + ".",
			expect: "Ten pongs in order (OK); pongs for only some, the last included (RFC 6455 §5.5.3 allows answering only the most recent ping): INFORMATIONAL.",
			run: func(s *session) {
				s.sendChopped(chop, frames...)
				s.expectEcho(want, echoOpts{noSync: true, alt: func(got []obs) Outcome {
					if len(got) > 0 && isSubsequence(got, want) && equalObs(got[len(got)-1:], want[len(want)-1:]) {
						return Informational
					}
					return Failed
				}})
			}})
	}
}

// isSubsequence reports whether a is b with some elements left out.
func isSubsequence(a, b []obs) bool {
	i := 0
	for _, x := range b {
		if i < len(a) && equalObs(a[i:i+1], []obs{x}) {
			i++
		}
	}
	return i == len(a)
}

func rsvCases(b *builder) {
	hello := []byte("Hello, reserved bits")
	before := []obs{msgText(hello)}
	good := text(hello)
	withRsv := func(f wsFrame, rsv byte) wsFrame { f.Rsv = rsv; return f }
	cases := []struct {
		desc   string
		chop   chopSpec
		frames []wsFrame
		want   []obs
	}{
		{"Send a text message with RSV1 set, no extension negotiated.", chopSpec{}, []wsFrame{withRsv(text([]byte("rsv1")), frame.Rsv1)}, nil},
		{"Send a valid text message, then one with RSV2 set, then a ping.", chopSpec{}, []wsFrame{good, withRsv(text([]byte("rsv2")), frame.Rsv2), ping([]byte("after"))}, before},
		{"Send a valid text message, then one with RSV3 set, then a ping, one octet per TCP write.", octetWise, []wsFrame{good, withRsv(text([]byte("rsv3")), frame.Rsv3), ping([]byte("after"))}, before},
		{"Send a valid text message, then one with RSV1 and RSV3 set, then a ping, one octet per write with 1 ms between.", slowChop, []wsFrame{good, withRsv(text([]byte("rsv13")), frame.Rsv1|frame.Rsv3), ping([]byte("after"))}, before},
		{"Send a binary message with RSV1 and RSV2 set.", chopSpec{}, []wsFrame{withRsv(binary(binaryPayload(8)), frame.Rsv1|frame.Rsv2)}, nil},
		{"Send a ping with RSV2 and RSV3 set.", chopSpec{}, []wsFrame{withRsv(ping([]byte("rsv ping")), frame.Rsv2|frame.Rsv3)}, nil},
		{"Send a close frame with all three reserved bits set.", chopSpec{}, []wsFrame{withRsv(closeFrame(closeCode(1000, "")), frame.Rsv1|frame.Rsv2|frame.Rsv3)}, nil},
	}
	for i, c := range cases {
		b.add(&wsCase{id: fmt.Sprintf("3.%d", i+1), desc: c.desc + " (RFC 6455 §5.2: a nonzero value no extension defines MUST fail the connection.)",
			expect: "The messages before the bad frame are echoed; the peer fails the connection with 1002.",
			run:    failRun(c.chop, c.frames, c.want, 1002)})
	}
}

func opcodeCases(b *builder) {
	hello := []byte("Hello, opcodes")
	for g, ops := range [][]frame.Opcode{{3, 4, 5, 6, 7}, {11, 12, 13, 14, 15}} {
		for i, op := range ops {
			bad := wsFrame{Fin: true, Opcode: op}
			var frames []wsFrame
			var want []obs
			chop := chopSpec{}
			switch i {
			case 0:
				frames = []wsFrame{bad}
			case 1:
				bad.Payload = []byte("reserved opcode payload")
				frames = []wsFrame{bad}
			case 2:
				frames, want = []wsFrame{text(hello), bad, ping([]byte("after"))}, []obs{msgText(hello)}
			case 3:
				bad.Payload = []byte("reserved opcode payload")
				frames, want = []wsFrame{text(hello), bad, ping([]byte("after"))}, []obs{msgText(hello)}
			case 4:
				bad.Payload = []byte("reserved opcode payload")
				frames, want = []wsFrame{text(hello), bad, ping([]byte("after"))}, []obs{msgText(hello)}
				chop = octetWise
			}
			kind := "non-control"
			if g == 1 {
				kind = "control"
			}
			b.add(&wsCase{id: fmt.Sprintf("4.%d.%d", g+1, i+1),
				desc:   fmt.Sprintf("Send a frame with the reserved %s opcode %d (%d-byte payload) after %d valid message(s)%s (RFC 6455 §5.2: an unknown opcode MUST fail the connection).", kind, op, len(bad.Payload), len(want), map[bool]string{true: ", one octet per write", false: ""}[chop.Size == 1]),
				expect: "Valid messages before it are echoed; the peer fails the connection with 1002.",
				run:    failRun(chop, frames, want, 1002)})
		}
	}
}

func fragmentCases(b *builder) {
	f1, f2 := []byte("fragment one, "), []byte("fragment two")
	whole := append(bytes.Clone(f1), f2...)
	tf := func(p []byte, fin bool) wsFrame { return wsFrame{Fin: fin, Opcode: frame.OpText, Payload: p} }
	cf := func(p []byte, fin bool) wsFrame { return wsFrame{Fin: fin, Opcode: frame.OpContinuation, Payload: p} }
	pp := []byte("ping in between")
	add := func(id, desc, expect string, run func(*session)) {
		b.add(&wsCase{id: id, desc: desc, expect: expect, run: run})
	}
	add("5.1", "Send a ping fragmented into two frames (RFC 6455 §5.5: control frames MUST NOT be fragmented).", "The peer fails the connection with 1002.",
		failRun(chopSpec{}, []wsFrame{{Opcode: frame.OpPing, Payload: f1}, cf(f2, true)}, nil, 1002))
	add("5.2", "Send a pong fragmented into two frames.", "The peer fails the connection with 1002.",
		failRun(chopSpec{}, []wsFrame{{Opcode: frame.OpPong, Payload: f1}, cf(f2, true)}, nil, 1002))
	ways := []struct {
		how  string
		send func(s *session, fs ...wsFrame)
	}{
		{"in one write", func(s *session, fs ...wsFrame) { s.send(fs...) }},
		{"one octet per TCP write", func(s *session, fs ...wsFrame) { s.sendChopped(octetWise, fs...) }},
		{"one frame per write with 10 ms between", func(s *session, fs ...wsFrame) { s.sendEach(10*time.Millisecond, fs...) }},
	}
	n := 3
	groups := []struct {
		desc, expect string
		frames       []wsFrame
		want         []obs
		fail         bool
	}{
		{"Send a text message in two fragments", "The peer echoes the whole message.", []wsFrame{tf(f1, false), cf(f2, true)}, []obs{msgText(whole)}, false},
		{"Send a text message in two fragments with a ping between them", "A pong, then the echoed message.", []wsFrame{tf(f1, false), ping(pp), cf(f2, true)}, []obs{obsPong(pp), msgText(whole)}, false},
		{"Send a final continuation frame with nothing to continue, then a text message", "The peer fails the connection with 1002 and echoes nothing (RFC 6455 §5.4).", []wsFrame{cf(f1, true), text(f2)}, nil, true},
		{"Send a non-final continuation frame with nothing to continue, then a text message", "The peer fails the connection with 1002 and echoes nothing.", []wsFrame{cf(f1, false), text(f2)}, nil, true},
	}
	for _, g := range groups {
		for _, w := range ways {
			n++
			send := w.send
			g := g
			add(fmt.Sprintf("5.%d", n), g.desc+", "+w.how+".", g.expect, func(s *session) {
				send(s, g.frames...)
				if g.fail {
					s.expectFail(g.want, 1002)
				} else {
					s.expectEcho(g.want, echoOpts{})
				}
			})
		}
	}
	// 5.16-
	add("5.16", "Send a text message in two fragments, then a non-final continuation frame with nothing to continue, then a final one.",
		"The first message is echoed; the peer fails the connection with 1002.",
		failRun(chopSpec{}, []wsFrame{tf(f1, false), cf(f2, true), cf(f1, false), cf(f2, true)}, []obs{msgText(whole)}, 1002))
	add("5.17", "Send a non-final text frame, then another non-final text frame starting a second message inside the first.",
		"The peer fails the connection with 1002 (RFC 6455 §5.4: fragments of one message MUST NOT be interleaved with another).",
		failRun(chopSpec{}, []wsFrame{tf(f1, false), tf(f2, false), cf(f1, true)}, nil, 1002))
	add("5.18", "Send a non-final text frame, then a final text frame.",
		"The peer fails the connection with 1002.",
		failRun(chopSpec{}, []wsFrame{tf(f1, false), tf(f2, true)}, nil, 1002))
	parts := [][]byte{[]byte("one "), []byte("two "), []byte("three "), []byte("four "), []byte("five")}
	p1, p2 := []byte("ping after two"), []byte("ping after four")
	five := []wsFrame{tf(parts[0], false), cf(parts[1], false), ping(p1), cf(parts[2], false), cf(parts[3], false), ping(p2), cf(parts[4], true)}
	want := []obs{obsPong(p1), obsPong(p2), msgText(bytes.Join(parts, nil))}
	add("5.19", "Send a text message in five fragments with pings after the second and fourth, one frame per write with 50 ms between.",
		"Two pongs as the pings arrive, then the echoed message.",
		func(s *session) { s.sendEach(50*time.Millisecond, five...); s.expectEcho(want, echoOpts{}) })
	add("5.20", "As 5.19, one octet per TCP write with 1 ms between.", "Two pongs, then the echoed message.",
		echoRun(slowChop, five, want...))
	add("5.21", "Send a text message in two fragments with a close frame (1000) between them (RFC 6455 §5.4: control frames MAY be injected in the middle of a fragmented message).",
		"The peer answers the close with 1000 and echoes nothing.",
		func(s *session) {
			s.send(tf(f1, false))
			s.closeWith(closeCode(1000, ""), []int{1000})
			s.send(cf(f2, true))
			s.gradeNothing()
		})
}

// gradeNothing grades behaviour OK if no message or pong came back.
func (s *session) gradeNothing() {
	s.mu.Lock()
	got := s.received
	s.mu.Unlock()
	if len(got) == 0 {
		s.setBehavior(OK, "nothing received, as expected")
	} else {
		s.setBehavior(Failed, "expected nothing, received %s", summarize(got))
	}
}

func closeCases(b *builder) {
	hello := []byte("Hello before close")
	b.add(&wsCase{id: "7.1.1", desc: "Send a text message, then close normally.", expect: "The message is echoed; the peer answers the close with 1000.",
		run: echoRun(chopSpec{}, []wsFrame{text(hello)}, msgText(hello))})
	after := []struct {
		desc   string
		frames []wsFrame
	}{
		{"a second close frame", []wsFrame{closeFrame(closeCode(1000, ""))}},
		{"a ping", []wsFrame{ping([]byte("after close"))}},
		{"a text message", []wsFrame{text([]byte("after close"))}},
	}
	for i, a := range after {
		b.add(&wsCase{id: fmt.Sprintf("7.1.%d", i+2), desc: "Send a close frame (1000), then " + a.desc + " (RFC 6455 §5.5.1: no data after a close frame).",
			expect: "The peer answers the close with 1000 and ignores what follows.",
			run: func(s *session) {
				s.expClose = &closeExpect{byMe: true, codes: []int{1000}}
				s.send(append([]wsFrame{closeFrame(closeCode(1000, ""))}, a.frames...)...)
				s.wait(s.timeout, s.closedByPeer)
				s.gradeNothing()
			}})
	}
	b.add(&wsCase{id: "7.1.5", desc: "Send the first fragment of a text message, a close frame (1000), then the last fragment.",
		expect: "The peer answers the close with 1000 and echoes nothing.",
		run: func(s *session) {
			s.expClose = &closeExpect{byMe: true, codes: []int{1000}}
			s.send(wsFrame{Opcode: frame.OpText, Payload: []byte("first ")}, closeFrame(closeCode(1000, "")), wsFrame{Fin: true, Opcode: frame.OpContinuation, Payload: []byte("last")})
			s.wait(s.timeout, s.closedByPeer)
			s.gradeNothing()
		}})
	b.add(&wsCase{id: "7.1.6", desc: "Send ten 256 KiB text messages, a close frame (1000) and a ping, in one write.",
		expect: "INFORMATIONAL: how many messages the peer echoed before closing. The close is answered with 1000.",
		run: func(s *session) {
			s.expClose = &closeExpect{byMe: true, codes: []int{1000}}
			var fs []wsFrame
			for range 10 {
				fs = append(fs, text(textPayload(256<<10)))
			}
			fs = append(fs, closeFrame(closeCode(1000, "")), ping([]byte("after close")))
			s.send(fs...)
			s.wait(s.timeout, s.closedByPeer)
			s.mu.Lock()
			n := len(s.received)
			s.mu.Unlock()
			s.setBehavior(Informational, "%d of 10 messages echoed before the close", n)
		}})
	closeRun := func(p []byte, codes ...int) func(*session) {
		return func(s *session) { s.closeWith(p, codes); s.gradeNothing() }
	}
	b.add(&wsCase{id: "7.3.1", desc: "Send a close frame with an empty payload.", expect: "The peer answers with a close frame (empty, or 1000).",
		run: closeRun(nil, 1000, 1005)})
	b.add(&wsCase{id: "7.3.2", desc: "Send a close frame with a 1-byte payload (RFC 6455 §5.5.1: a body starts with a 2-byte code).",
		expect: "The peer fails the connection with 1002.", run: closeRun([]byte{0x03}, 1002)})
	b.add(&wsCase{id: "7.3.3", desc: "Send a close frame with code 1000 and no reason.", expect: "The peer answers with 1000.", run: closeRun(closeCode(1000, ""), 1000)})
	b.add(&wsCase{id: "7.3.4", desc: "Send a close frame with code 1000 and a short reason.", expect: "The peer answers with 1000.", run: closeRun(closeCode(1000, "bye for now"), 1000)})
	b.add(&wsCase{id: "7.3.5", desc: "Send a close frame with code 1000 and a 123-byte reason (125-byte payload).", expect: "The peer answers with 1000.",
		run: closeRun(closeCode(1000, string(textPayload(123))), 1000)})
	b.add(&wsCase{id: "7.3.6", desc: "Send a close frame with code 1000 and a 124-byte reason (126-byte payload, over the control frame limit).",
		expect: "The peer fails the connection with 1002.", run: closeRun(closeCode(1000, string(textPayload(124))), 1002)})
	b.add(&wsCase{id: "7.5.1", desc: "Send a close frame with code 1000 and a reason that is not valid UTF-8 (RFC 6455 §5.5.1, §8.1).",
		expect: "The peer fails the connection with 1007.", run: closeRun(append(closeCode(1000, "bad "), 0xce, 0xba, 0xed, 0xa0, 0x80, 'x'), 1007)})
	for i, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		b.add(&wsCase{id: fmt.Sprintf("7.7.%d", i+1), desc: fmt.Sprintf("Send a close frame with the valid code %d.", code),
			expect: fmt.Sprintf("The peer answers the close with %d or 1000.", code), run: closeRun(closeCode(code, ""), code, 1000)})
	}
	for i, code := range []int{0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999} {
		b.add(&wsCase{id: fmt.Sprintf("7.9.%d", i+1), desc: fmt.Sprintf("Send a close frame with the invalid code %d (RFC 6455 §7.4).", code),
			expect: "The peer fails the connection with 1002.", run: closeRun(closeCode(code, ""), 1002)})
	}
	for i, code := range []int{5000, 65535} {
		b.add(&wsCase{id: fmt.Sprintf("7.13.%d", i+1), desc: fmt.Sprintf("Send a close frame with code %d, outside every range RFC 6455 §7.4.2 defines.", code),
			expect: "INFORMATIONAL: whatever the peer answers.",
			run: func(s *session) {
				s.closeWith(closeCode(code, ""), nil)
				s.expClose.any = true
				s.setBehavior(Informational, "recorded")
			}})
	}
}
