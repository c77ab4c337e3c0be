package conformance

import (
	"bytes"
	"fmt"
	"time"
)

// Autobahn|Testsuite's categories 9 (limits and performance) and 10
// (auto-fragmentation), as in its case9_1_1.py … case10_1_1.py. The
// harness checks each echo's type, length and content (Autobahn checks
// type and length).

func init() { builders = append(builders, limitCases, autoFragmentCases) }

func size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Autobahn's repeated payloads of the 9.x cases.
var (
	limitText   = []byte("BAsd7&jh23")
	limitBinary = []byte{0x00, 0xfe, 0x23, 0xfa, 0xf0}
)

// echoOnce is the 9.1-9.6 scheme: one message sent, the first message
// received graded, then the harness closes; closeAfter(wait) if nothing
// comes.
// The payloads are made when the case runs, not when the catalogue is
// built.
func echoOnce(binary bool, payload func() []byte, wait float64, send func(s *session, want []byte)) func(*session) {
	return func(s *session) {
		want := payload()
		normalClose(s)
		kind := "text"
		if binary {
			kind = "binary"
		}
		s.result = fmt.Sprintf("Did not receive message within %g seconds.", wait)
		start := time.Now()
		s.onMessage = func(o obs) {
			switch {
			case o.binary != binary:
				s.behavior, s.result = Failed, fmt.Sprintf("expected a %s message, received %v (%s)", kind, o, ruleReceive)
			case len(o.data) != len(want):
				s.behavior, s.result = Failed, fmt.Sprintf("expected a %s message of %d bytes, received %d bytes (%s)", kind, len(want), len(o.data), ruleReceive)
			case !bytes.Equal(o.data, want):
				s.behavior, s.result = Failed, fmt.Sprintf("the echoed %s message of %d bytes differs from the one sent at byte %d (%s)", kind, len(want), firstDiff(o.data, want), ruleReceive)
			default:
				s.behavior, s.result = OK, fmt.Sprintf("Received %s message of length %d in %v.", kind, len(o.data), time.Since(start).Round(time.Millisecond))
			}
			s.sendClose(1000)
		}
		s.onLost = tooBigInformational(s)
		send(s, want)
		s.closeAfter(wait)
	}
}

// tooBigInformational grades a peer that refuses a message with a limit
// of its own as INFORMATIONAL: 1009, the message too big, or 1008, a
// policy of the endpoint such as a cap on the fragments of one message
// (Node's ws: maxFragments; 9.3.x and 9.4.x send 4 MiB in up to 65,536
// frames). RFC 6455 §10.4 lets an implementation choose its limits; what
// it must do is protect itself, which it did.
func tooBigInformational(s *session) func() {
	return func() {
		if s.gotClose && !s.closedByMe && (s.remoteCode == 1009 || s.remoteCode == 1008) && len(s.violations) == 0 {
			s.behavior, s.behaviorClose = Informational, Informational
			why := "as too big (1009)"
			if s.remoteCode == 1008 {
				why = "by a policy of its own (1008), such as a cap on the fragments of a message"
			}
			s.result = "the peer refused the message " + why + ": its limits are its own choice (" + ruleLimits + ")"
			s.resultClose = fmt.Sprintf("closed by the peer with %d", s.remoteCode)
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func limitCases(b *builder) {
	const expect = "The peer echoes the message; the harness then closes with 1000. A peer that refuses it with a limit of its own (1009, or 1008 for a policy such as a cap on fragments): INFORMATIONAL."
	add := func(id, desc string, run func(*session)) {
		b.add(&wsCase{id: id, desc: desc, expect: expect, rule: ruleReceive, run: run})
	}
	for k, kind := range []struct {
		name   string
		op     opcode
		binary bool
		unit   []byte
		waits  []float64
	}{
		{"text", opText, false, limitText, []float64{10, 10, 100, 100, 100, 100}},
		{"binary", opBinary, true, limitBinary, []float64{10, 10, 10, 10, 100, 100}},
	} {
		for i, n := range []int{64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20} {
			add(fmt.Sprintf("9.%d.%d", k+1, i+1), fmt.Sprintf("Send a %s message of %s in one frame.", kind.name, size(n)),
				echoOnce(kind.binary, func() []byte { return repeatTo(kind.unit, n) }, kind.waits[i], func(s *session, _ []byte) {
					s.sendFrame(frameSpec{op: kind.op, fin: true, payload: kind.unit, repeat: n})
				}))
		}
	}
	frags := []int{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20}
	for k, binary := range []bool{false, true} {
		name := map[bool]string{false: "text", true: "binary"}[binary]
		for i, fs := range frags {
			// Autobahn's 9.4.1 sends 0xfe bytes, the other 9.3 and 9.4
			// cases "*".
			octet := byte('*')
			if binary && i == 0 {
				octet = 0xfe
			}
			add(fmt.Sprintf("9.%d.%d", k+3, i+1), fmt.Sprintf("Send a %s message of 4 MiB (0x%02x) in fragments of %s.", name, octet, size(fs)),
				echoOnce(binary, func() []byte { return bytes.Repeat([]byte{octet}, 4<<20) }, 100, func(s *session, want []byte) { s.sendMessage(want, binary, fs) }))
		}
	}
	for k, kind := range []struct {
		name   string
		op     opcode
		binary bool
		unit   []byte
	}{{"text", opText, false, limitText}, {"binary", opBinary, true, limitBinary}} {
		for i, chop := range []int{64, 128, 256, 512, 1024, 2048} {
			add(fmt.Sprintf("9.%d.%d", k+5, i+1), fmt.Sprintf("Send a %s message of 1 MiB in one frame, written to TCP in chops of %d bytes.", kind.name, chop),
				echoOnce(kind.binary, func() []byte { return repeatTo(kind.unit, 1<<20) }, 1000, func(s *session, _ []byte) {
					s.sendFrame(frameSpec{op: kind.op, fin: true, payload: kind.unit, repeat: 1 << 20, chop: chop})
				}))
		}
	}
	rtts := []struct {
		n    int
		wait float64
	}{{0, 60}, {16, 60}, {64, 60}, {256, 120}, {1024, 240}, {4096, 480}}
	for k, kind := range []struct {
		name   string
		op     opcode
		binary bool
		unit   byte
	}{{"text", opText, false, '*'}, {"binary", opBinary, true, 0xfe}} {
		for i, r := range rtts {
			p := bytes.Repeat([]byte{kind.unit}, r.n)
			b.add(&wsCase{id: fmt.Sprintf("9.%d.%d", k+7, i+1), rule: ruleReceive,
				desc:   fmt.Sprintf("Send 1000 %s messages of %d bytes, each after the echo of the one before, to measure the round trip time.", kind.name, r.n),
				expect: fmt.Sprintf("The peer echoes every message; the case times out after %g s.", r.wait),
				run: func(s *session) {
					normalClose(s)
					notDone := fmt.Sprintf("Case did not finish within %g seconds.", r.wait)
					s.result = notDone
					count := 0
					s.onLost = func() {
						if s.result == notDone && !s.closedByMe {
							s.result = fmt.Sprintf("the connection ended after %d of 1000 echoes (%s)", max(count-1, 0), ruleReceive)
						}
					}
					start := time.Now()
					sendOne := func() {
						s.sendFrame(frameSpec{op: kind.op, fin: true, payload: p})
						count++
					}
					s.onMessage = func(o obs) {
						switch {
						case o.binary != kind.binary || !bytes.Equal(o.data, p):
							s.behavior = Failed
							s.result = fmt.Sprintf("echo %d: expected a %s message of %d bytes, received %v (%s)", count, kind.name, r.n, o, ruleReceive)
							s.sendClose(1000)
						case count < 1000:
							sendOne()
						default:
							s.behavior = OK
							s.result = fmt.Sprintf("Ok, received all echo'ed messages in %v.", time.Since(start).Round(time.Millisecond))
							s.sendClose(1000)
						}
					}
					s.closeAfter(r.wait)
					sendOne()
				}})
		}
	}
}

func autoFragmentCases(b *builder) {
	b.add(&wsCase{id: "10.1.1", rule: ruleReceive,
		desc:   "Send a text message of 65536 bytes (\"*\") in fragments of 1300 bytes (Autobahn's autoFragmentSize): a text frame and 50 continuation frames.",
		expect: "The peer echoes the message, fragmented as it likes; the harness then closes with 1000.",
		run: func(s *session) {
			p := bytes.Repeat([]byte("*"), 65536)
			s.expect(OK, textMsg(p))
			normalClose(s)
			s.autoFragment = 1300
			s.sendMessage(p, false, 0)
			s.killAfter(10)
			s.onLost = func() {
				if got := [2]int{s.txFrames[opCont], s.txFrames[opText]}; got != [2]int{50, 1} {
					s.behavior = Failed
					s.result = fmt.Sprintf("the harness sent %d continuation and %d text frames, not 50 and 1", got[0], got[1])
				}
			}
		}})
}
