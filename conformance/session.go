package conformance

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/pushwire/pushwire/wsproto/frame"
)

// maxEvents bounds the events kept per case; later ones are counted only.
const maxEvents = 120

// maxRecv bounds the size of one message received from the peer.
const maxRecv = 64 << 20

// obs is one observation the cases grade: a data message or a pong,
// in arrival order.
type obs struct {
	kind string // "text", "binary", "pong"
	data []byte
}

func (o obs) String() string { return o.kind + "(" + preview(o.data) + ")" }

func msgText(p []byte) obs   { return obs{"text", p} }
func msgBinary(p []byte) obs { return obs{"binary", p} }
func obsPong(p []byte) obs   { return obs{"pong", p} }

// closeExpect is what the close of a case must look like.
type closeExpect struct {
	byMe  bool  // the harness starts the closing handshake
	codes []int // acceptable codes of the peer's close frame
	any   bool  // the close is informational
}

// session is one WebSocket connection running one case, seen from the
// harness: it writes raw frames and records everything the peer sends.
type session struct {
	conn       net.Conn
	br         *bufio.Reader
	masked     bool // the harness masks its frames (it is the client)
	serverRole bool // the peer under test is a server
	rng        *rand.Rand
	start      time.Time
	timeout    time.Duration
	pmd        *pmdState // permessage-deflate, when negotiated
	rest       []byte    // bytes a case keeps for a later write
	peerLimit  int64     // the largest message the peer accepts, if known

	wmu sync.Mutex // serializes writes

	mu          sync.Mutex
	events      []Event
	dropped     int
	received    []obs
	sentClose   bool
	closedByMe  bool
	recvClose   bool
	remoteCode  int // 1005 for an empty close frame
	remoteWhy   string
	eof         bool
	violations  []string
	notify      chan struct{}
	done        chan struct{}
	tcpByHarn   bool
	behavior    Outcome
	behaviorWhy string
	expClose    *closeExpect
}

func newSession(conn net.Conn, br *bufio.Reader, serverRole bool, timeout time.Duration) *session {
	s := &session{
		conn:       conn,
		br:         br,
		masked:     serverRole,
		serverRole: serverRole,
		rng:        rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed)),
		start:      time.Now(),
		timeout:    timeout,
		notify:     make(chan struct{}, 1),
		done:       make(chan struct{}),
	}
	return s
}

// log records an event.
func (s *session) log(e Event) {
	s.mu.Lock()
	s.logLocked(e)
	s.mu.Unlock()
}

func (s *session) logLocked(e Event) {
	e.At = ms(time.Since(s.start))
	if len(s.events) >= maxEvents {
		s.dropped++
		return
	}
	s.events = append(s.events, e)
}

func (s *session) note(format string, args ...any) {
	s.log(Event{Dir: "note", Kind: "note", Text: fmt.Sprintf(format, args...)})
}

// violation records a protocol violation by the peer; it fails the
// case's behaviour.
func (s *session) violation(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	s.violations = append(s.violations, msg)
	s.logLocked(Event{Dir: "recv", Kind: "violation", Text: msg})
	s.mu.Unlock()
	s.signal()
}

func (s *session) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// send writes frames in one write.
func (s *session) send(frames ...wsFrame) { s.sendChopped(chopSpec{}, frames...) }

// sendChopped writes frames as bytes split as chop says.
func (s *session) sendChopped(chop chopSpec, frames ...wsFrame) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	for _, f := range frames {
		e := Event{Dir: "sent", Kind: "frame", Opcode: f.Opcode.String(), Fin: f.Fin, Rsv: int(f.Rsv >> 4), Len: int64(len(f.Payload)), Data: preview(f.Payload)}
		// A close frame with reserved bits is no close frame but a
		// protocol violation the peer must fail on.
		if f.Opcode == frame.OpClose && f.Rsv == 0 {
			if len(f.Payload) >= 2 {
				e.Code = int(f.Payload[0])<<8 | int(f.Payload[1])
			}
			if !s.sentClose && !s.recvClose {
				s.closedByMe = true
			}
			s.sentClose = true
		}
		s.logLocked(e)
	}
	s.mu.Unlock()
	s.writeBytes(encodeFrames(frames, s.masked, s.rng), chop)
}

// sendRaw writes bytes as they are (wmu held or not needed).
func (s *session) writeBytes(b []byte, chop chopSpec) {
	if chop.Size <= 0 {
		chop.Size = len(b)
	}
	s.conn.SetWriteDeadline(time.Now().Add(s.timeout + 5*time.Second))
	for len(b) > 0 {
		n := min(chop.Size, len(b))
		if _, err := s.conn.Write(b[:n]); err != nil {
			s.log(Event{Dir: "note", Kind: "note", Text: "write: " + err.Error()})
			return
		}
		b = b[n:]
		if len(b) > 0 && chop.Pause > 0 {
			time.Sleep(chop.Pause)
		}
	}
}

// sendBytes writes raw bytes, such as half a frame.
func (s *session) sendBytes(b []byte, chop chopSpec) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.log(Event{Dir: "sent", Kind: "bytes", Len: int64(len(b)), Data: preview(b)})
	s.writeBytes(b, chop)
}

// frameBytes encodes frames for sendBytes.
func (s *session) frameBytes(frames ...wsFrame) []byte { return encodeFrames(frames, s.masked, s.rng) }

// recorder reads frames from the peer until the connection ends,
// checking them against RFC 6455 and recording them.
func (s *session) recorder() {
	defer close(s.done)
	var (
		scratch  [frame.MaxHeaderSize]byte
		msgOp    frame.Opcode // opcode of the message in progress, 0 if none
		msgComp  bool
		msg      []byte
		closeGot bool
	)
	for {
		h, err := frame.ReadHeader(s.br, &scratch)
		if err != nil {
			s.mu.Lock()
			s.eof = true
			txt := "connection closed by peer"
			if !errors.Is(err, io.EOF) {
				txt = "read: " + err.Error()
			}
			s.logLocked(Event{Dir: "recv", Kind: "tcp-closed", Text: txt})
			s.mu.Unlock()
			s.signal()
			return
		}
		e := Event{Dir: "recv", Kind: "frame", Opcode: h.Opcode.String(), Fin: h.Fin, Rsv: int(h.Rsv >> 4), Len: h.Length}
		// RFC 6455 §5.1: "A server MUST NOT mask any frames that it sends
		// to the client" and "The server MUST close the connection upon
		// receiving a frame that is not masked".
		if s.serverRole && h.Masked {
			s.violation("server sent a masked frame (RFC 6455 §5.1: a server MUST NOT mask any frames)")
		}
		if !s.serverRole && !h.Masked {
			s.violation("client sent an unmasked frame (RFC 6455 §5.3: the client MUST mask all frames)")
		}
		if h.Length > maxRecv {
			s.violation("frame of %d bytes is larger than the harness accepts", h.Length)
			s.conn.Close()
			continue
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(s.br, payload); err != nil {
			s.log(e)
			continue // the header read reports the end
		}
		if h.Masked {
			frame.Mask(h.Mask, 0, payload)
		}
		e.Data = preview(payload)
		s.log(e)
		if closeGot {
			s.violation("%s frame after the close frame (RFC 6455 §5.5.1: no more data frames after sending a Close frame)", h.Opcode)
			continue
		}
		rsvOK := byte(0)
		if s.pmd != nil && (h.Opcode == frame.OpText || h.Opcode == frame.OpBinary) {
			rsvOK = frame.Rsv1
		}
		if h.Rsv&^rsvOK != 0 {
			s.violation("frame with reserved bits %#x that no extension defines (RFC 6455 §5.2)", h.Rsv)
		}
		if h.Opcode.IsReserved() {
			s.violation("frame with reserved opcode %s (RFC 6455 §5.2)", h.Opcode)
			continue
		}
		if h.Opcode.IsControl() && (!h.Fin || h.Length > 125) {
			s.violation("control frame fragmented or longer than 125 bytes (RFC 6455 §5.5)")
		}
		switch h.Opcode {
		case frame.OpPing:
			s.log(Event{Dir: "recv", Kind: "ping", Len: h.Length, Data: preview(payload)})
			s.mu.Lock()
			closing := s.sentClose
			s.mu.Unlock()
			if !closing {
				s.send(pong(payload))
			}
		case frame.OpPong:
			s.mu.Lock()
			s.received = append(s.received, obsPong(payload))
			s.logLocked(Event{Dir: "recv", Kind: "pong", Len: h.Length, Data: preview(payload)})
			s.mu.Unlock()
			s.signal()
		case frame.OpClose:
			closeGot = true
			code, why := 1005, ""
			if len(payload) >= 2 {
				code = int(payload[0])<<8 | int(payload[1])
				why = string(payload[2:])
			}
			if _, err := frame.ParseClosePayload(payload); err != nil {
				s.violation("invalid close payload from the peer: %v", err)
			}
			s.mu.Lock()
			s.recvClose = true
			s.remoteCode, s.remoteWhy = code, why
			s.logLocked(Event{Dir: "recv", Kind: "close", Code: code, Reason: why})
			reply := !s.sentClose
			s.mu.Unlock()
			if reply {
				// RFC 6455 §5.5.1: "the endpoint MUST send a Close frame in
				// response"; the harness echoes the code when it may.
				var p []byte
				if code != 1005 && frame.CloseCode(code).Sendable() {
					p = closeCode(code, "")
				}
				s.send(closeFrame(p))
			}
			s.signal()
			if !s.serverRole {
				// The harness is the server: it closes the TCP connection
				// once the handshake is done (RFC 6455 §7.1.1).
				s.mu.Lock()
				s.tcpByHarn = true
				s.mu.Unlock()
				s.conn.Close()
			}
		case frame.OpText, frame.OpBinary:
			if msgOp != 0 {
				s.violation("new data frame inside a fragmented message (RFC 6455 §5.4)")
			}
			msgOp, msg = h.Opcode, append(msg[:0:0], payload...)
			msgComp = h.Rsv&frame.Rsv1 != 0
			if h.Fin {
				s.deliver(msgOp, msgComp, msg)
				msgOp = 0
			}
		case frame.OpContinuation:
			if msgOp == 0 {
				s.violation("continuation frame with no message to continue (RFC 6455 §5.4)")
				continue
			}
			if len(msg)+len(payload) > maxRecv {
				s.violation("message longer than the %d bytes the harness accepts", maxRecv)
				s.conn.Close()
				continue
			}
			msg = append(msg, payload...)
			if h.Fin {
				s.deliver(msgOp, msgComp, msg)
				msgOp = 0
			}
		}
	}
}

// deliver records a complete data message.
func (s *session) deliver(op frame.Opcode, compressed bool, p []byte) {
	if compressed {
		out, err := s.pmd.inflate(p)
		if err != nil {
			s.violation("compressed message does not inflate: %v (RFC 7692 §7.2.2)", err)
			return
		}
		p = out
	}
	kind := "text"
	if op == frame.OpBinary {
		kind = "binary"
	}
	s.mu.Lock()
	s.received = append(s.received, obs{kind, p})
	s.logLocked(Event{Dir: "recv", Kind: "message", Opcode: kind, Len: int64(len(p)), Data: preview(p), Rsv: b2i(compressed) * 4})
	s.mu.Unlock()
	s.signal()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// wait waits up to d for cond, evaluated with s.mu held after each
// observation, and reports whether it became true.
func (s *session) wait(d time.Duration, cond func() bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		s.mu.Lock()
		ok := cond()
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-s.notify:
		case <-s.done:
			s.mu.Lock()
			ok := cond()
			s.mu.Unlock()
			return ok
		case <-t.C:
			return false
		}
	}
}

// closedByPeer is a wait condition: the peer sent a close frame or
// dropped the connection.
func (s *session) closedByPeer() bool { return s.recvClose || s.eof }

// setBehavior grades the behaviour; the worst grade given wins.
func (s *session) setBehavior(o Outcome, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o >= s.behavior {
		if o > s.behavior || s.behaviorWhy == "" {
			s.behaviorWhy = fmt.Sprintf(format, args...)
		}
		s.behavior = o
	}
}

// echoOpts tunes expectEcho.
type echoOpts struct {
	// noSync: the last wanted observation ends the wait, instead of the
	// pong of a sync ping sent after the case's frames.
	noSync bool
	// alt grades a result other than want; nil means Failed.
	alt func(got []obs) Outcome
}

// expectEcho waits for the answers to what the case sent and grades them
// against want, then closes normally. Unless o.noSync, it first sends a
// sync ping whose pong marks the end of the answers: anything the peer
// sends in reply to the case's frames arrives before it.
func (s *session) expectEcho(want []obs, o echoOpts) {
	var last obs
	if o.noSync && len(want) > 0 {
		last = want[len(want)-1]
	} else {
		last = obsPong(fmt.Appendf(nil, "sync-%08x", s.rng.Uint32()))
		s.send(ping(last.data))
	}
	isLast := func(got []obs) bool { return len(got) > 0 && equalObs(got[len(got)-1:], []obs{last}) }
	ok := s.wait(s.timeout, func() bool { return s.closedByPeer() || isLast(s.received) })
	s.mu.Lock()
	got := slices.Clone(s.received)
	s.mu.Unlock()
	if !o.noSync && isLast(got) {
		got = got[:len(got)-1]
	}
	alt := Failed
	if o.alt != nil {
		alt = o.alt(got)
	}
	switch {
	case equalObs(got, want):
		s.setBehavior(OK, "received what was expected")
	case alt != Failed:
		s.setBehavior(alt, "received %s", summarize(got))
	case !ok:
		s.setBehavior(Failed, "expected %s, received %s before %s", summarize(want), summarize(got), s.endWhy())
	default:
		s.setBehavior(Failed, "expected %s, received %s", summarize(want), summarize(got))
	}
	s.closeNormal()
}

// endWhy says why a wait ended without its condition.
func (s *session) endWhy() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.recvClose:
		return fmt.Sprintf("the peer closed with %d", s.remoteCode)
	case s.eof:
		return "the peer dropped the connection"
	}
	return fmt.Sprintf("the timeout (%v)", s.timeout)
}

// closeNormal starts the closing handshake with 1000 and expects the
// peer to answer it with 1000.
func (s *session) closeNormal() {
	s.closeWith(closeCode(1000, ""), []int{1000})
}

// closeWith sends a close frame with payload p and expects the peer to
// answer with one of codes.
func (s *session) closeWith(p []byte, codes []int) {
	s.mu.Lock()
	already := s.sentClose || s.recvClose || s.eof
	s.mu.Unlock()
	if already {
		if s.expClose == nil {
			s.expClose = &closeExpect{byMe: true, codes: codes}
		}
		return
	}
	s.expClose = &closeExpect{byMe: true, codes: codes}
	s.send(closeFrame(p))
	s.wait(s.timeout, s.closedByPeer)
}

// expectFail waits for the peer to fail the connection with one of codes,
// having received exactly want before.
func (s *session) expectFail(want []obs, codes ...int) {
	s.expClose = &closeExpect{codes: codes}
	// Stop waiting as soon as the peer answers more than want: it has
	// not failed the connection where it had to.
	failed := s.wait(s.timeout, func() bool { return s.closedByPeer() || len(s.received) > len(want) })
	s.mu.Lock()
	failed = s.closedByPeer()
	s.mu.Unlock()
	s.gradeFail(failed, want, Failed)
}

func (s *session) gradeFail(failed bool, want []obs, late Outcome) {
	s.mu.Lock()
	got := slices.Clone(s.received)
	s.mu.Unlock()
	switch {
	case !failed:
		s.setBehavior(Failed, "the peer did not fail the connection within %v (received %s)", s.timeout, summarize(got))
		s.send(closeFrame(closeCode(1000, "")))
		s.wait(s.timeout, s.closedByPeer)
	case !equalObs(got, want):
		s.setBehavior(Failed, "expected %s before the peer failed the connection, received %s", summarize(want), summarize(got))
	case late != Failed:
		s.setBehavior(late, "the peer failed the connection only after the whole message arrived, not at the first invalid byte")
	default:
		s.setBehavior(OK, "the peer failed the connection")
	}
}

// finish ends the connection and grades the close.
func (s *session) finish() (behavior, closeB Outcome, behaviorWhy, closeWhy string) {
	// After the closing handshake the server closes TCP first (RFC 6455
	// §7.1.1): the harness as client waits for that.
	s.mu.Lock()
	handshakeDone := s.sentClose && s.recvClose
	s.mu.Unlock()
	serverClosed := true
	if s.serverRole && handshakeDone {
		serverClosed = s.wait(s.timeout, func() bool { return s.eof })
		if !serverClosed {
			s.log(Event{Dir: "note", Kind: "timeout", Text: "the server did not close the TCP connection after the closing handshake"})
		}
	}
	s.conn.Close()
	<-s.done

	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.violations) > 0 {
		s.behavior = Failed
		s.behaviorWhy = s.violations[0]
	}
	if s.dropped > 0 {
		s.events = append(s.events, Event{At: ms(time.Since(s.start)), Dir: "note", Kind: "note", Text: fmt.Sprintf("%d more events not recorded", s.dropped)})
	}
	behavior, behaviorWhy = s.behavior, s.behaviorWhy
	exp := s.expClose
	if exp == nil {
		exp = &closeExpect{byMe: true, codes: []int{1000}}
	}
	codeOK := slices.Contains(exp.codes, s.remoteCode) || len(exp.codes) == 0
	switch {
	case exp.any:
		closeB, closeWhy = Informational, fmt.Sprintf("closed by %s, remote code %s", who(s.closedByMe), codeName(s.recvClose, s.remoteCode))
	case exp.byMe && !s.closedByMe:
		closeB, closeWhy = Failed, fmt.Sprintf("the peer closed (%s) where the harness was to start the closing handshake", codeName(s.recvClose, s.remoteCode))
	case exp.byMe && !s.recvClose:
		closeB, closeWhy = Failed, "the peer never answered the close frame (RFC 6455 §5.5.1: it MUST send a Close frame in response)"
	case !exp.byMe && s.closedByMe:
		closeB, closeWhy = Failed, "the peer did not fail the connection; the harness had to close it"
	case !exp.byMe && !s.recvClose:
		closeB, closeWhy = NonStrict, "the peer dropped the TCP connection without a close frame (RFC 6455 §7.1.7: it SHOULD send one)"
	case !codeOK:
		closeB, closeWhy = Failed, fmt.Sprintf("remote close code %d, want one of %v", s.remoteCode, exp.codes)
	case !serverClosed:
		closeB, closeWhy = Failed, "the server did not close the TCP connection after the closing handshake (RFC 6455 §7.1.1: it MUST close it immediately)"
	default:
		closeB, closeWhy = OK, fmt.Sprintf("closed by %s with %s, cleanly", who(s.closedByMe), codeName(true, s.remoteCode))
	}
	return behavior, closeB, behaviorWhy, closeWhy
}

func who(me bool) string {
	if me {
		return "the harness"
	}
	return "the peer"
}

func codeName(got bool, code int) string {
	if !got {
		return "no close frame"
	}
	return fmt.Sprint(code)
}

func equalObs(a, b []obs) bool {
	return slices.EqualFunc(a, b, func(x, y obs) bool { return x.kind == y.kind && bytes.Equal(x.data, y.data) })
}

func summarize(os []obs) string {
	if len(os) == 0 {
		return "nothing"
	}
	if len(os) > 4 {
		return fmt.Sprintf("%d messages/pongs, first %v, last %v", len(os), os[0], os[len(os)-1])
	}
	return fmt.Sprint(os)
}
