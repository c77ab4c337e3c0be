package conformance

import (
	"fmt"
	"time"

	"github.com/pushwire/pushwire/wsproto/frame"
)

func init() { builders = append(builders, limitCases, autoFragmentCases) }

// kinds are the two data message types with their payload generators.
var kinds = []struct {
	name string
	op   frame.Opcode
	gen  func(int) []byte
	msg  func([]byte) obs
}{{"text", frame.OpText, textPayload, msgText}, {"binary", frame.OpBinary, binaryPayload, msgBinary}}

func size(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// timedEcho is echoRun that also reports the time the echo took.
func timedEcho(chop chopSpec, frames []wsFrame, want obs) func(*session) {
	return func(s *session) {
		start := time.Now()
		s.sendChopped(chop, frames...)
		s.expectEcho([]obs{want}, echoOpts{noSync: true})
		s.mu.Lock()
		if s.behavior == OK {
			s.behaviorWhy = fmt.Sprintf("echoed in %v", time.Since(start).Round(time.Millisecond))
		}
		s.mu.Unlock()
	}
}

func limitCases(b *builder) {
	for k, kind := range kinds {
		for i, n := range []int{64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20} {
			p := kind.gen(n)
			b.add(&wsCase{id: fmt.Sprintf("9.%d.%d", k+1, i+1), slow: 15,
				desc:   fmt.Sprintf("Send a %s %s message in one frame.", size(n), kind.name),
				expect: "The peer echoes it (OK), or fails the connection with 1009 if it is over its limit (INFORMATIONAL).",
				run:    limitRun(chopSpec{}, []wsFrame{{Fin: true, Opcode: kind.op, Payload: p}}, kind.msg(p))})
		}
	}
	for k, kind := range kinds {
		p := kind.gen(4 << 20)
		for i, fs := range []int{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20} {
			b.add(&wsCase{id: fmt.Sprintf("9.%d.%d", k+3, i+1), slow: 15,
				desc:   fmt.Sprintf("Send a 4 MiB %s message in frames of %s.", kind.name, size(fs)),
				expect: "The peer echoes it.",
				run:    limitRun(chopSpec{}, fragments(kind.op, p, fs), kind.msg(p))})
		}
	}
	for k, kind := range kinds {
		p := kind.gen(1 << 20)
		for i, cs := range []int{64, 128, 256, 512, 1024, 2048} {
			b.add(&wsCase{id: fmt.Sprintf("9.%d.%d", k+5, i+1), slow: 15,
				desc:   fmt.Sprintf("Send a 1 MiB %s message in one frame, written to TCP in chops of %d bytes.", kind.name, cs),
				expect: "The peer echoes it.",
				run:    limitRun(chopSpec{Size: cs}, []wsFrame{{Fin: true, Opcode: kind.op, Payload: p}}, kind.msg(p))})
		}
	}
	for k, kind := range kinds {
		for i, n := range []int{0, 16, 64, 256, 1 << 10, 4 << 10} {
			p := kind.gen(n)
			b.add(&wsCase{id: fmt.Sprintf("9.%d.%d", k+7, i+1), slow: 15,
				desc:   fmt.Sprintf("Send 1000 %s messages of %s one after the other, each after the echo of the previous one.", kind.name, size(n)),
				expect: "The peer echoes every message.",
				run: func(s *session) {
					start := time.Now()
					for j := range 1000 {
						s.send(wsFrame{Fin: true, Opcode: kind.op, Payload: p})
						if !s.wait(s.timeout, func() bool { return len(s.received) > j || s.closedByPeer() }) {
							break
						}
					}
					want := make([]obs, 1000)
					for j := range want {
						want[j] = kind.msg(p)
					}
					s.mu.Lock()
					got := s.received
					s.mu.Unlock()
					if equalObs(got, want) {
						s.setBehavior(OK, "1000 round trips in %v", time.Since(start).Round(time.Millisecond))
					} else {
						s.setBehavior(Failed, "expected 1000 echoes, received %s", summarize(got))
					}
					s.closeNormal()
				}})
		}
	}
}

// limitRun is timedEcho that grades a 1009 failure as INFORMATIONAL: the
// peer's limit is its own choice.
func limitRun(chop chopSpec, frames []wsFrame, want obs) func(*session) {
	echo := timedEcho(chop, frames, want)
	return func(s *session) {
		echo(s)
		s.mu.Lock()
		too := s.recvClose && s.remoteCode == 1009 && !s.closedByMe
		s.mu.Unlock()
		if too {
			s.behavior, s.behaviorWhy = Informational, "the peer refused the message as too big (1009)"
			s.expClose = &closeExpect{any: true}
		}
	}
}

func autoFragmentCases(b *builder) {
	for k, kind := range kinds {
		p := kind.gen(64 << 10)
		b.add(&wsCase{id: fmt.Sprintf("10.1.%d", k+1),
			desc:   fmt.Sprintf("Send a 64 KiB %s message in frames of 1300 bytes.", kind.name),
			expect: "The peer echoes it, fragmented as it likes.",
			run:    echoRun(chopSpec{}, fragments(kind.op, p, 1300), kind.msg(p))})
	}
}
