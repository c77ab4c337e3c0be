package conformance

import (
	"bytes"
	"fmt"
)

// Autobahn|Testsuite's categories 1 to 5: framing, pings and pongs,
// reserved bits, reserved opcodes and fragmentation, case for case: the
// same ids, payloads, fragmentation, write chops, timers and expected
// events (autobahntestsuite/case/case1_1_1.py … case5_20.py).

func init() {
	builders = append(builders, framingCases, pingCases, rsvCases, opcodeCases, fragmentCases)
}

// The expected close of a case where the harness closes after the echo,
// and of a case where the peer must fail the connection.
func normalClose(s *session)         { s.expectClose(true, true, 1000) }
func peerFails(s *session, code int) { s.expectClose(false, false, code) }

// hello is the payload of Autobahn's small messages.
var hello = []byte("Hello, world!")

func framingCases(b *builder) {
	sizes := []int{0, 125, 126, 127, 128, 65535, 65536, 65536}
	for k, kind := range []struct {
		name   string
		op     opcode
		octet  byte
		binary bool
	}{{"text", opText, '*', false}, {"binary", opBinary, 0xfe, true}} {
		for i, n := range sizes {
			p := bytes.Repeat([]byte{kind.octet}, n)
			chop, kill := 0, 1.0
			if n >= 65535 {
				kill = 10
			}
			desc := fmt.Sprintf("Send a %s message of %d bytes (0x%02x repeated) in one frame.", kind.name, n, kind.octet)
			if i == 7 {
				chop = 997
				desc = fmt.Sprintf("Send a %s message of 65536 bytes (0x%02x repeated) in one frame, written to TCP in chops of 997 bytes.", kind.name, kind.octet)
			}
			b.add(&wsCase{
				id: fmt.Sprintf("1.%d.%d", k+1, i+1), desc: desc, rule: ruleReceive,
				expect: "The peer echoes the message; the harness closes with 1000, cleanly.",
				run: func(s *session) {
					s.expect(OK, obs{kind: "message", binary: kind.binary, data: p})
					normalClose(s)
					s.sendFrame(frameSpec{op: kind.op, fin: true, payload: p, chop: chop})
					s.killAfter(kill)
				}})
		}
	}
}

func pingCases(b *builder) {
	pong := func(id, desc string, p []byte, chop int, wait float64) {
		b.add(&wsCase{id: id, desc: desc, rule: rulePing + " " + rulePongData,
			expect: "A pong with the ping's payload; the harness then closes with 1000.",
			run: func(s *session) {
				s.expect(OK, pongObs(p))
				normalClose(s)
				s.sendFrame(frameSpec{op: opPing, fin: true, payload: p, chop: chop})
				s.closeAfter(wait)
			}})
	}
	pong("2.1", "Send a ping with an empty payload.", nil, 0, 1)
	pong("2.2", "Send a ping with the text payload \"Hello, world!\".", hello, 0, 1)
	pong("2.3", "Send a ping with the binary payload 00 ff fe fd fc fb 00 ff.", []byte{0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff}, 0, 1)
	pong("2.4", "Send a ping with a payload of 125 bytes (0xfe), the most a control frame carries.", bytes.Repeat([]byte{0xfe}, 125), 0, 1)
	b.add(&wsCase{id: "2.5", desc: "Send a ping with a payload of 126 bytes (0xfe), one more than a control frame may carry.",
		expect: "The peer fails the connection with 1002, sending no pong.", rule: ruleControl,
		run: func(s *session) {
			s.expect(OK)
			peerFails(s, 1002)
			s.sendFrame(frameSpec{op: opPing, fin: true, payload: bytes.Repeat([]byte{0xfe}, 126)})
			s.killAfter(1)
		}})
	pong("2.6", "Send a ping with a payload of 125 bytes (0xfe), written one octet per TCP write.", bytes.Repeat([]byte{0xfe}, 125), 1, 2)
	unsolicited := func(id, desc string, p []byte) {
		b.add(&wsCase{id: id, desc: desc, rule: ruleUnsolicitedPong,
			expect: "Nothing in reply to the pong; the peer answers the close with 1000.",
			run: func(s *session) {
				s.expect(OK)
				normalClose(s)
				s.sendFrame(frameSpec{op: opPong, fin: true, payload: p})
				s.sendClose(1000)
				s.closeAfter(1)
			}})
	}
	unsolicited("2.7", "Send an unsolicited pong with an empty payload, then a close frame (1000).", nil)
	unsolicited("2.8", "Send an unsolicited pong with the payload \"unsolicited pong payload\", then a close frame (1000).", []byte("unsolicited pong payload"))
	b.add(&wsCase{id: "2.9", desc: "Send an unsolicited pong (\"unsolicited pong payload\"), then a ping (\"ping payload\").",
		expect: "A pong for the ping only; the harness then closes with 1000.", rule: rulePing + " " + ruleUnsolicitedPong,
		run: func(s *session) {
			p := []byte("ping payload")
			s.expect(OK, pongObs(p))
			normalClose(s)
			s.sendFrame(frameSpec{op: opPong, fin: true, payload: []byte("unsolicited pong payload")})
			s.sendFrame(frameSpec{op: opPing, fin: true, payload: p})
			s.closeAfter(1)
		}})
	for i, chop := range []int{0, 1} {
		how := ""
		if chop == 1 {
			how = ", written one octet per TCP write"
		}
		b.add(&wsCase{id: fmt.Sprintf("2.%d", 10+i),
			desc:   "Send 10 pings with the payloads \"payload-0\" to \"payload-9\"" + how + ".",
			expect: "10 pongs with the same payloads, in order (OK). Pongs for only some of them, the last included: NON-STRICT (Autobahn: FAILED), as RFC 6455 §5.5.3 lets a peer answer only the most recent ping.",
			rule:   rulePing,
			run: func(s *session) {
				var want []obs
				for j := range 10 {
					p := fmt.Appendf(nil, "payload-%d", j)
					want = append(want, pongObs(p))
					s.sendFrame(frameSpec{op: opPing, fin: true, payload: p, chop: chop})
				}
				s.expect(OK, want...)
				normalClose(s)
				s.closeAfter(3)
				s.onLost = func() {
					if s.behavior != Failed || len(s.violations) > 0 || len(s.received) == 0 || len(s.received) >= len(want) {
						return
					}
					if isSubsequence(s.received, want) && equalObs(s.received[len(s.received)-1:], want[len(want)-1:]) {
						s.behavior = NonStrict
						s.result = fmt.Sprintf("%d pongs for 10 pings, the last included (%s)", len(s.received), rulePongLatest)
					}
				}
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
	const expectFail = "The peer fails the connection with 1002 at once: RSV must be 0 when no extension defines it."
	const expectEchoFail = "The first message is echoed (OK; failing before echoing it: NON-STRICT), then the peer fails the connection with 1002 at once; no pong."
	b.add(&wsCase{id: "3.1", desc: "Send a small text message with RSV = 1 (the RSV3 bit).", expect: expectFail, rule: ruleRSV,
		run: func(s *session) {
			s.expect(OK)
			peerFails(s, 1002)
			s.sendFrame(frameSpec{op: opText, fin: true, payload: hello, rsv: 1})
			s.killAfter(1)
		}})
	// Echoing the valid message before failing is what Autobahn calls OK;
	// failing before the echo is NON-STRICT, not FAILED: the RFC asks a
	// peer to fail on the bad frame (ruleRSV), not to answer the messages
	// before it, and an asynchronous echo may lose the race with the close.
	then := func(id, desc string, rsv byte, chop int, sync bool) {
		b.add(&wsCase{id: id, desc: desc, expect: expectEchoFail, rule: ruleRSV,
			run: func(s *session) {
				s.expect(OK, textMsg(hello))
				s.expect(NonStrict)
				peerFails(s, 1002)
				s.sendFrame(frameSpec{op: opText, fin: true, payload: hello, chop: chop, sync: sync})
				s.sendFrame(frameSpec{op: opText, fin: true, payload: hello, rsv: rsv, chop: chop, sync: sync})
				s.sendFrame(frameSpec{op: opPing, fin: true, chop: chop, sync: sync})
				s.killAfter(1)
			}})
	}
	then("3.2", "Send a small text message, then the same with RSV = 2 (the RSV2 bit), then a ping.", 2, 0, false)
	then("3.3", "Send a small text message, then the same with RSV = 3 (RSV2 and RSV3), then a ping; each frame in its own TCP write.", 3, 0, true)
	then("3.4", "Send a small text message, then the same with RSV = 4 (the RSV1 bit), then a ping; one octet per TCP write.", 4, 1, false)
	b.add(&wsCase{id: "3.5", desc: "Send a small binary message (00 ff fe fd fc fb 00 ff) with RSV = 5 (RSV1 and RSV3).", expect: expectFail, rule: ruleRSV,
		run: func(s *session) {
			s.expect(OK)
			peerFails(s, 1002)
			s.sendFrame(frameSpec{op: opBinary, fin: true, payload: []byte{0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff}, rsv: 5})
			s.killAfter(1)
		}})
	b.add(&wsCase{id: "3.6", desc: "Send a frame with RSV = 6 (RSV1 and RSV2) carrying \"Hello, world!\"; Autobahn describes it as a ping but sends a binary frame, and so does the harness.", expect: expectFail, rule: ruleRSV,
		run: func(s *session) {
			s.expect(OK)
			peerFails(s, 1002)
			s.sendFrame(frameSpec{op: opBinary, fin: true, payload: hello, rsv: 6})
			s.killAfter(1)
		}})
	b.add(&wsCase{id: "3.7", desc: "Send a close frame with RSV = 7 (all three bits) and no payload.", expect: expectFail, rule: ruleRSV,
		run: func(s *session) {
			s.expect(OK)
			peerFails(s, 1002)
			s.sendFrame(frameSpec{op: opClose, fin: true, rsv: 7})
			s.killAfter(1)
		}})
}

func opcodeCases(b *builder) {
	for g, ops := range [][]opcode{{3, 4, 5, 6, 7}, {11, 12, 13, 14, 15}} {
		kind := "non-control"
		if g == 1 {
			kind = "control"
		}
		for i, op := range ops {
			id := fmt.Sprintf("4.%d.%d", g+1, i+1)
			switch i {
			case 0, 1:
				var p []byte
				desc := fmt.Sprintf("Send a frame with the reserved %s opcode %d.", kind, op)
				if i == 1 {
					p = []byte("reserved opcode payload")
					desc = fmt.Sprintf("Send a frame with the reserved %s opcode %d and the payload \"reserved opcode payload\".", kind, op)
				}
				b.add(&wsCase{id: id, desc: desc, expect: "The peer fails the connection with 1002 at once.", rule: ruleOpcode,
					run: func(s *session) {
						s.expect(OK)
						peerFails(s, 1002)
						s.sendFrame(frameSpec{op: op, fin: true, payload: p})
						s.killAfter(1)
					}})
			default:
				var p []byte
				chop := 0
				desc := fmt.Sprintf("Send a small text message, then a frame with the reserved %s opcode %d", kind, op)
				if i >= 3 {
					p = hello
					desc += " and a payload"
				}
				desc += ", then a ping"
				if i == 4 {
					chop = 1
					desc += "; one octet per TCP write"
				}
				b.add(&wsCase{id: id, desc: desc + ".", rule: ruleOpcode,
					expect: "The first message is echoed (OK; failing before echoing it: NON-STRICT), then the peer fails the connection with 1002 at once; no pong.",
					run: func(s *session) {
						s.expect(OK, textMsg(hello))
						s.expect(NonStrict)
						peerFails(s, 1002)
						s.sendFrame(frameSpec{op: opText, fin: true, payload: hello, chop: chop})
						s.sendFrame(frameSpec{op: op, fin: true, payload: p, chop: chop})
						s.sendFrame(frameSpec{op: opPing, fin: true, chop: chop})
						s.killAfter(1)
					}})
			}
		}
	}
}

func fragmentCases(b *builder) {
	add := func(id, desc, expect, rule string, run func(*session)) {
		b.add(&wsCase{id: id, desc: desc, expect: expect, rule: rule, run: run})
	}
	failing := "The peer fails the connection with 1002 at once."
	f1, f2 := []byte("fragment1"), []byte("fragment2")
	for i, op := range []opcode{opPing, opPong} {
		add(fmt.Sprintf("5.%d", i+1), fmt.Sprintf("Send a %s fragmented into two frames (\"fragment1\", \"fragment2\").", op), failing+" Control frames must not be fragmented.", ruleControl,
			func(s *session) {
				s.expect(OK)
				peerFails(s, 1002)
				s.sendFrame(frameSpec{op: op, payload: f1})
				s.sendFrame(frameSpec{op: opCont, fin: true, payload: f2})
				s.killAfter(1)
			})
	}
	ways := []struct {
		how        string
		chop       int
		sync       bool
		idsMessage string
	}{{"", 0, false, "5.3"}, {", each frame in its own TCP write", 0, true, "5.4"}, {", one octet per TCP write", 1, false, "5.5"}}
	for _, w := range ways {
		add(w.idsMessage, "Send a text message in two fragments (\"fragment1\", \"fragment2\")"+w.how+".", "The peer echoes \"fragment1fragment2\"; the harness then closes with 1000.", ruleReceive,
			func(s *session) {
				s.expect(OK, textMsg([]byte("fragment1fragment2")))
				normalClose(s)
				s.sendFrame(frameSpec{op: opText, payload: f1, chop: w.chop, sync: w.sync})
				s.sendFrame(frameSpec{op: opCont, fin: true, payload: f2, chop: w.chop, sync: w.sync})
				s.closeAfter(1)
			})
	}
	pp := []byte("ping payload")
	for i, w := range ways {
		add(fmt.Sprintf("5.%d", 6+i), "Send a text message in two fragments with a ping (\"ping payload\") between them"+w.how+".", "A pong, then the echo of \"fragment1fragment2\"; the harness then closes with 1000.", ruleInjected,
			func(s *session) {
				s.expect(OK, pongObs(pp), textMsg([]byte("fragment1fragment2")))
				normalClose(s)
				s.sendFrame(frameSpec{op: opText, payload: f1, chop: w.chop, sync: w.sync})
				s.sendFrame(frameSpec{op: opPing, fin: true, payload: pp, chop: w.chop, sync: w.sync})
				s.sendFrame(frameSpec{op: opCont, fin: true, payload: f2, chop: w.chop, sync: w.sync})
				s.closeAfter(1)
			})
	}
	orphans := []struct {
		fin  bool
		desc string
	}{{true, "FIN set"}, {false, "FIN clear"}}
	n := 9
	for _, o := range orphans {
		for _, w := range []struct {
			how  string
			chop int
			sync bool
		}{{" in one write", 0, false}, {", each frame in its own TCP write", 0, true}, {", one octet per TCP write", 1, false}} {
			add(fmt.Sprintf("5.%d", n), "Send a continuation frame with "+o.desc+" (\"non-continuation payload\") while no message is in progress, then a text message \"Hello, world!\""+w.how+".",
				failing+" There is no message to continue.", ruleFragments,
				func(s *session) {
					s.expect(OK)
					peerFails(s, 1002)
					s.sendFrame(frameSpec{op: opCont, fin: o.fin, payload: []byte("non-continuation payload"), chop: w.chop, sync: w.sync})
					s.sendFrame(frameSpec{op: opText, fin: true, payload: hello, chop: w.chop, sync: w.sync})
					s.killAfter(1)
				})
			n++
		}
	}
	add("5.15", "Send a text message in two fragments (\"fragment1\", \"fragment2\"), then a continuation frame with FIN clear (\"fragment3\") while no message is in progress, then a text frame (\"fragment4\"), in one write.",
		"\"fragment1fragment2\" is echoed (OK; failing before echoing it: NON-STRICT), then the peer fails the connection with 1002 at once.", ruleFragments,
		func(s *session) {
			s.expect(OK, textMsg([]byte("fragment1fragment2")))
			s.expect(NonStrict)
			peerFails(s, 1002)
			s.sendFrame(frameSpec{op: opText, payload: f1})
			s.sendFrame(frameSpec{op: opCont, fin: true, payload: f2})
			s.sendFrame(frameSpec{op: opCont, payload: []byte("fragment3")})
			s.sendFrame(frameSpec{op: opText, fin: true, payload: []byte("fragment4")})
			s.killAfter(1)
		})
	for i, fin := range []bool{false, true} {
		what := "FIN clear"
		if fin {
			what = "FIN set"
		}
		add(fmt.Sprintf("5.%d", 16+i), "Twice: a continuation frame with "+what+" (\"fragment1\") while no message is in progress, then a text message in two fragments (\"fragment2\", \"fragment3\").",
			failing+" There is no message to continue.", ruleFragments,
			func(s *session) {
				s.expect(OK)
				peerFails(s, 1002)
				for range 2 {
					s.sendFrame(frameSpec{op: opCont, fin: fin, payload: f1})
					s.sendFrame(frameSpec{op: opText, payload: f2})
					s.sendFrame(frameSpec{op: opCont, fin: true, payload: []byte("fragment3")})
				}
				s.killAfter(1)
			})
	}
	add("5.18", "Send a text message in two fragments whose second frame has the text opcode too (\"fragment1\", \"fragment2\").",
		failing+" Every frame after the first of a message must be a continuation frame.", ruleFragments,
		func(s *session) {
			s.expect(OK)
			peerFails(s, 1002)
			s.sendFrame(frameSpec{op: opText, payload: f1})
			s.sendFrame(frameSpec{op: opText, fin: true, payload: f2})
			s.killAfter(1)
		})
	for i, sync := range []bool{false, true} {
		how := ""
		if sync {
			how = " Every frame in its own TCP write (the same octets, chopped differently)."
		}
		add(fmt.Sprintf("5.%d", 19+i), "Send a text message in five fragments (\"fragment1\" … \"fragment5\"): two fragments and a ping (\"pongme 1!\"), then after 1 s two fragments, a ping (\"pongme 2!\") and the last fragment."+how,
			"Both pongs, then the echo of \"fragment1fragment2fragment3fragment4fragment5\"; the harness closes 1 s after the last fragment. With -strict, the first pong must arrive before the second part is sent ("+rulePongSoon+").", ruleInjected,
			func(s *session) {
				frags := [][]byte{f1, f2, []byte("fragment3"), []byte("fragment4"), []byte("fragment5")}
				pings := [][]byte{[]byte("pongme 1!"), []byte("pongme 2!")}
				s.expect(OK, pongObs(pings[0]), pongObs(pings[1]), textMsg(bytes.Join(frags, nil)))
				normalClose(s)
				firstPong := false
				s.onPong = func(p []byte) {
					if bytes.Equal(p, pings[0]) {
						firstPong = true
					}
				}
				s.sendFrame(frameSpec{op: opText, payload: frags[0], sync: sync})
				s.sendFrame(frameSpec{op: opCont, payload: frags[1], sync: sync})
				s.sendFrame(frameSpec{op: opPing, fin: true, payload: pings[0], sync: sync})
				s.continueLater(1, func() {
					if !firstPong {
						s.strictNotes = append(s.strictNotes, "the first pong had not arrived 1 s after its ping ("+rulePongSoon+")")
					}
					s.sendFrame(frameSpec{op: opCont, payload: frags[2], sync: sync})
					s.sendFrame(frameSpec{op: opCont, payload: frags[3], sync: sync})
					s.sendFrame(frameSpec{op: opPing, fin: true, payload: pings[1], sync: sync})
					s.sendFrame(frameSpec{op: opCont, fin: true, payload: frags[4], sync: sync})
					s.closeAfter(1)
				})
			})
	}
}
