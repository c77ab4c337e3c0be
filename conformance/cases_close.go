package conformance

import (
	"bytes"
	"fmt"
)

// Autobahn|Testsuite's category 7, close handling, as in its
// case7_1_1.py … case7_13_2.py.

func init() { builders = append(builders, closeCases) }

// wrongCodeFails is Autobahn's onConnectionLost of the 7.x cases: a close
// code the case does not allow fails the behaviour too.
func wrongCodeFails(s *session, rule string) func() {
	return func() {
		if s.behaviorClose == NonStrict && len(s.resultClose) > 10 && s.resultClose[:10] == "WRONG CODE" {
			s.behavior = Failed
			s.result = s.resultClose + " (" + rule + ")"
		}
	}
}

func closeCases(b *builder) {
	add := func(id, desc, expect, rule string, run func(*session)) {
		b.add(&wsCase{id: id, desc: desc, expect: expect, rule: rule, run: run})
	}
	hw := []byte("Hello World!")
	add("7.1.1", "Send a text message (\"Hello World!\"), then close when it is echoed.", "The echo, then a clean close with 1000.", ruleReceive,
		func(s *session) {
			s.expect(OK, textMsg(hw))
			normalClose(s)
			s.onLost = wrongCodeFails(s, ruleCloseReply)
			s.sendFrame(frameSpec{op: opText, fin: true, payload: hw})
			s.killAfter(1)
		})
	after := func(id, desc, expect, rule string, send func(s *session)) {
		add(id, desc, expect, rule, func(s *session) {
			s.suppressClose = true
			s.expect(OK)
			normalClose(s)
			s.onLost = wrongCodeFails(s, rule)
			send(s)
			s.killAfter(1)
		})
	}
	after("7.1.2", "Send two close frames (1000, then an empty one).", "A clean close with 1000; the second close frame is ignored.", ruleCloseReply,
		func(s *session) {
			s.sendClose(1000)
			s.sendFrame(frameSpec{op: opClose, fin: true})
		})
	after("7.1.3", "Send a close frame (1000), then a ping.", "A clean close with 1000 and no pong.", ruleCloseReply+" "+rulePing,
		func(s *session) {
			s.sendClose(1000)
			s.sendFrame(frameSpec{op: opPing, fin: true})
		})
	after("7.1.4", "Send a close frame (1000), then a text message (\"Hello World!\").", "A clean close with 1000; the message is ignored.", ruleCloseReply,
		func(s *session) {
			s.sendClose(1000)
			s.sendFrame(frameSpec{op: opText, fin: true, payload: hw})
		})
	after("7.1.5", "Send the first fragment of a text message (\"fragment1\"), a close frame (1000), then the last fragment (\"fragment2\").", "A clean close with 1000.", ruleInjected+" "+ruleCloseReply,
		func(s *session) {
			s.sendFrame(frameSpec{op: opText, payload: []byte("fragment1")})
			s.sendClose(1000)
			s.sendFrame(frameSpec{op: opCont, fin: true, payload: []byte("fragment2")})
		})
	add("7.1.6", "Send a text message of 256 KiB (\"BAsd7&jh23\" repeated), a text message \"Hello World!\", a close frame (1000) and a ping, back to back.",
		"INFORMATIONAL: whether the messages are echoed before the close depends on how the peer processes them (an asynchronous one may close first).", ruleCloseReply,
		func(s *session) {
			s.suppressClose = true
			s.expect(OK, textMsg(hw))
			s.expect(NonStrict)
			normalClose(s)
			s.sendFrame(frameSpec{op: opText, fin: true, payload: []byte("BAsd7&jh23"), repeat: 256 << 10})
			s.sendFrame(frameSpec{op: opText, fin: true, payload: hw})
			s.sendClose(1000)
			s.sendFrame(frameSpec{op: opPing, fin: true})
			s.killAfter(1)
			s.onLost = func() {
				s.result = fmt.Sprintf("%d of the 2 messages echoed before the close: %s", len(s.received), summarize(s.received))
				s.behavior, s.behaviorClose = Informational, Informational
			}
		})
	closeWith := func(id, desc, expect, rule string, p []byte, clean bool, codes ...int) {
		add(id, desc, expect, rule, func(s *session) {
			s.suppressClose = true
			s.expect(OK)
			s.expectClose(true, clean, codes...)
			s.onLost = wrongCodeFails(s, rule)
			s.sendCloseFrame(p, false)
			s.killAfter(1)
		})
	}
	closeWith("7.3.1", "Send a close frame with an empty payload (no code, no reason).", "A clean close with 1000 (or an empty close frame).", ruleCloseReply, nil, true, 1000)
	closeWith("7.3.2", "Send a close frame with a 1-byte payload (\"a\").", "A close with 1002, or the TCP connection dropped.", ruleCloseBody+" "+ruleValidate, []byte("a"), false, 1002)
	closeWith("7.3.3", "Send a close frame with the code 1000 and no reason.", "A clean close with 1000.", ruleCloseReply, closeCode(1000, ""), true, 1000)
	closeWith("7.3.4", "Send a close frame with the code 1000 and the reason \"Hello World!\".", "A clean close with 1000.", ruleCloseReply, closeCode(1000, "Hello World!"), true, 1000)
	closeWith("7.3.5", "Send a close frame with the code 1000 and a reason of 123 bytes (\"*\"), the longest that fits.", "A clean close with 1000.", ruleCloseReply,
		closeCode(1000, string(bytes.Repeat([]byte("*"), 123))), true, 1000)
	closeWith("7.3.6", "Send a close frame with the code 1000 and a reason of 124 bytes: a payload of 126 bytes, over the control frame limit.", "A close with 1002, or the TCP connection dropped.", ruleControl,
		closeCode(1000, string(bytes.Repeat([]byte("*"), 124))), false, 1002)
	// 1002 or 1007, as in Autobahn: the close reason is not a message, so
	// 1007 (ruleCode1007) is not the only fitting code; invalid UTF-8 must
	// fail the connection either way (ruleUTF8).
	closeWith("7.5.1", fmt.Sprintf("Send a close frame with the code 1000 and a reason that is not valid UTF-8 (% x).", seqs(kosme, []byte("\xed\xa0\x80edited"))),
		"A close with 1002 or 1007, or the TCP connection dropped.", ruleUTF8,
		append(closeCode(1000, ""), seqs(kosme, []byte("\xed\xa0\x80edited"))...), false, 1002, 1007)
	for i, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		closeWith(fmt.Sprintf("7.7.%d", i+1), fmt.Sprintf("Send a close frame with the valid code %d.", code), fmt.Sprintf("A clean close with 1000 or %d.", code),
			ruleCloseReply, closeCode(code, ""), true, 1000, code)
	}
	for i, code := range []int{0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999} {
		closeWith(fmt.Sprintf("7.9.%d", i+1), fmt.Sprintf("Send a close frame with the invalid code %d.", code), "A close with 1002, or the TCP connection dropped.",
			ruleCloseBody+" "+ruleCloseCodes+" "+ruleValidate, closeCode(code, ""), false, 1002)
	}
	// RFC 6455 §7.4.2 defines ranges up to 4999 only: what a peer does with
	// 5000 or 65535 is undefined, so any answer is INFORMATIONAL, as in
	// Autobahn.
	for i, code := range []int{5000, 65535} {
		add(fmt.Sprintf("7.13.%d", i+1), fmt.Sprintf("Send a close frame with the code %d, outside every range RFC 6455 §7.4 defines.", code),
			"INFORMATIONAL: the RFC does not say what the peer does.", "",
			func(s *session) {
				s.suppressClose = true
				s.expect(OK)
				s.expectClose(true, false, 1000, code, 1002)
				s.sendCloseFrame(closeCode(code, ""), false)
				s.killAfter(1)
				s.onLost = func() {
					s.behavior, s.behaviorClose = Informational, Informational
					s.result = "Actual events are undefined by the spec."
				}
			})
	}
}
