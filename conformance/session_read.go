package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"unicode/utf8"

	"github.com/pushwire/pushwire/wsproto/frame"
)

// The session's reading side: the peer's frames, what they are graded
// against, and the closing handshake as the peer plays it.

// allocates more than the bytes that arrived: a payload grows as it is
// read, whatever length the header claims.
func (s *session) reader() {
	defer s.wg.Done()
	defer close(s.in)
	var hb [maxHeader]byte
	for {
		if _, err := io.ReadFull(s.br, hb[:2]); err != nil {
			s.readEnd(err)
			return
		}
		n := headerSize(hb[:2])
		if _, err := io.ReadFull(s.br, hb[2:n]); err != nil {
			s.readEnd(err)
			return
		}
		h, err := parseHeader(hb[:n])
		if err != nil {
			s.post(inFrame{hdrLen: n, protocol: true, fatal: "a 64-bit payload length with its most significant bit set (" + ruleLength63 + ")"})
			return
		}
		if h.Length > maxFrame {
			s.post(inFrame{h: h, hdrLen: n, limit: true, fatal: fmt.Sprintf("a frame of %d bytes, more than the %d the harness reads", h.Length, maxFrame)})
			return
		}
		var buf bytes.Buffer
		buf.Grow(int(min(h.Length, 64<<10)))
		if _, err := io.CopyN(&buf, s.br, h.Length); err != nil {
			s.readEnd(err)
			return
		}
		p := buf.Bytes()
		if h.Masked {
			maskAt(h.Mask, 0, p)
		}
		if !s.post(inFrame{h: h, hdrLen: n, payload: p}) {
			return
		}
	}
}

// readEnd tells the loop how the peer's stream ended, unless it ended
// cleanly (or because the harness closed it): closing s.in says that.
func (s *session) readEnd(err error) {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
	case errors.Is(err, io.ErrUnexpectedEOF):
		s.post(inFrame{fatal: "the connection ended inside a frame"})
	default:
		s.post(inFrame{fatal: "read: " + err.Error()})
	}
}

func (s *session) post(f inFrame) bool {
	select {
	case s.in <- f:
		return true
	case <-s.quit:
		return false
	}
}

// connectionLost ends the case: the TCP connection is gone.
func (s *session) connectionLost() {
	if s.state != stateClosed {
		s.state = stateClosed
		s.log(Event{Dir: "recv", Kind: "tcp-closed", Text: "the peer closed the TCP connection"})
		if !s.wasClean && s.notClean == "" {
			s.notClean = "peer dropped the TCP connection without previous WebSocket closing handshake"
		}
	}
	s.lost = true
}

// violation records a protocol violation by the peer, which fails the
// behaviour, and fails the connection as Autobahn's protocol does.
func (s *session) violation(code int, what string) {
	s.violations = append(s.violations, what)
	s.log(Event{Dir: "recv", Kind: "violation", Text: what})
	s.failConnection(code, "pushwire conformance: protocol violation")
}

// harnessLimit fails the connection (1009) when the peer sends more than
// the harness keeps (see the constants above): the harness's limit, not a
// rule of the peer's, so it is noted, not graded as a violation. The
// expectations of the case grade what happened.
func (s *session) harnessLimit(what string) {
	s.log(Event{Dir: "note", Kind: "note", Text: "the harness's limit: " + what})
	s.failConnection(1009, "the harness's limit")
}

// onFrame processes a frame from the peer as Autobahn's protocol does:
// checks in its order, then control frames and message reassembly.
func (s *session) onFrame(f inFrame) {
	if s.state == stateClosed {
		return
	}
	if f.fatal != "" {
		switch {
		case f.protocol:
			s.violation(1002, f.fatal)
		case f.limit:
			s.harnessLimit(f.fatal)
		default:
			s.log(Event{Dir: "recv", Kind: "note", Text: f.fatal})
			return // a read error: the end follows
		}
		s.drop(false) // the harness cannot read on
		return
	}
	h, p := f.h, f.payload
	s.rxFrames++
	s.log(Event{Dir: "recv", Kind: "frame", Opcode: h.Opcode.String(), Fin: h.Fin, Rsv: int(h.Rsv >> 4), Len: h.Length, Data: preview(p)})
	control := h.Opcode&0x8 != 0
	if h.Rsv != 0 && !(s.pmd != nil && h.Rsv == rsv1) {
		s.violation(1002, fmt.Sprintf("frame with RSV=%d and no extension that defines it (%s)", h.Rsv>>4, ruleRSV))
	}
	if s.isServer && !h.Masked {
		s.violation(1002, "unmasked frame from the client ("+ruleClientMask+")")
	}
	if !s.isServer && h.Masked {
		s.violation(1002, "masked frame from the server ("+ruleServerMask+")")
	}
	if control {
		switch {
		case !h.Fin:
			s.violation(1002, "fragmented control frame ("+ruleControl+")")
		case h.Length > 125:
			s.violation(1002, fmt.Sprintf("control frame with a %d-byte payload (%s)", h.Length, ruleControl))
		}
		if h.Opcode != opClose && h.Opcode != opPing && h.Opcode != opPong {
			s.violation(1002, fmt.Sprintf("frame with the reserved opcode %d (%s)", h.Opcode, ruleReservedOpcode))
		}
		if h.Opcode == opClose && h.Length == 1 {
			s.violation(1002, "close frame with a 1-byte payload ("+ruleCloseBody+")")
		}
		if s.pmd != nil && h.Rsv == rsv1 {
			s.violation(1002, "compressed control frame ("+rulePMDBit+")")
		}
	} else {
		switch {
		case h.Opcode != opCont && h.Opcode != opText && h.Opcode != opBinary:
			s.violation(1002, fmt.Sprintf("frame with the reserved opcode %d (%s)", h.Opcode, ruleReservedOpcode))
		case !s.inside && h.Opcode == opCont:
			s.violation(1002, "continuation frame outside a fragmented message ("+ruleFragments+")")
		case s.inside && h.Opcode != opCont:
			s.violation(1002, "new data frame inside a fragmented message ("+ruleInterleave+")")
		case s.pmd != nil && h.Rsv == rsv1 && s.inside:
			s.violation(1002, "continuation frame with the compressed bit ("+rulePMDBit+")")
		}
		if s.gotClose {
			s.violation(1002, "data frame after the peer's close frame ("+ruleNoDataAfterClose+")")
		}
	}
	if f.hdrLen > headerLen(h) {
		s.violation(1002, fmt.Sprintf("payload length of %d encoded in %d header bytes (%s)", h.Length, f.hdrLen, ruleLength))
	}
	// Autobahn (without failByDrop) goes on processing the frame after a
	// violation, so that the peer's close still completes the handshake;
	// messages are no longer delivered once the harness failed.
	switch h.Opcode {
	case opClose:
		s.onClose(p)
	case opPing:
		s.log(Event{Dir: "recv", Kind: "ping", Len: h.Length, Data: preview(p)})
		if s.state == stateOpen {
			s.sendFrame(frameSpec{op: opPong, fin: true, payload: p})
		}
	case opPong:
		s.log(Event{Dir: "recv", Kind: "pong", Len: h.Length, Data: preview(p)})
		if s.onPong != nil {
			s.onPong(p)
		}
		s.record(pongObs(bytes.Clone(p)))
	case opText, opBinary, opCont:
		s.onData(h, p)
	}
}

// headerLen is the size of the minimal header for h.
func headerLen(h frame.Header) int { return h.Size() }

// onData reassembles messages.
func (s *session) onData(h frame.Header, p []byte) {
	if h.Opcode != opCont {
		if s.inside {
			return // reported as a violation; keep the message in progress
		}
		s.inside = true
		s.msgBinary = h.Opcode == opBinary
		s.msgComp = s.pmd != nil && h.Rsv == rsv1
		s.msg = s.msg[:0]
		s.checkUTF8 = !s.msgBinary && !s.msgComp
		s.msgUTF8.Reset()
	} else if !s.inside {
		return
	}
	if len(s.msg)+len(p) > maxMessage {
		s.harnessLimit(fmt.Sprintf("a message of more than %d bytes, more than the harness reassembles", maxMessage))
		s.inside = false
		s.msg = nil
		return
	}
	s.msg = append(s.msg, p...)
	if s.checkUTF8 && !s.msgUTF8.Write(p) {
		s.checkUTF8 = false
		s.violation(1007, "invalid UTF-8 in a text message ("+ruleTextUTF8+")")
	}
	if !h.Fin {
		return
	}
	s.inside = false
	msg := s.msg
	s.msg = nil
	if s.msgComp {
		out, err := s.pmd.inflate(msg)
		if errors.Is(err, errInflateLimit) {
			s.harnessLimit("a compressed message that inflates to " + err.Error())
			return
		}
		if err != nil {
			s.violation(1007, fmt.Sprintf("compressed message does not inflate: %v (%s)", err, rulePMDInflate))
			return
		}
		msg = out
		if !s.msgBinary && !utf8.Valid(msg) {
			s.violation(1007, "invalid UTF-8 in a text message ("+ruleTextUTF8+")")
			return
		}
	} else if s.checkUTF8 && !s.msgUTF8.Done() {
		s.violation(1007, "a text message ending inside a UTF-8 sequence ("+ruleTextUTF8+")")
		return
	}
	o := obs{kind: "message", binary: s.msgBinary, data: msg}
	s.log(Event{Dir: "recv", Kind: "message", Opcode: map[bool]string{true: "binary", false: "text"}[o.binary], Len: int64(len(msg)), Data: preview(msg), Rsv: b2i(s.msgComp) * 4})
	if s.failedByMe {
		return
	}
	if s.onMessage != nil {
		s.onMessage(o)
		return
	}
	s.record(o)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// record keeps an observation for grading and closes when it completes
// what the case expects (Autobahn's finishWhenDone).
func (s *session) record(o obs) {
	if len(s.received) >= maxReceived || s.recvBytes+len(o.data) > maxReceivedBytes {
		s.harnessLimit(fmt.Sprintf("more than %d messages or %d bytes, more than the harness keeps for a case", maxReceived, maxReceivedBytes))
		return
	}
	s.received = append(s.received, o)
	s.recvBytes += len(o.data)
	s.finishWhenDone()
}

// finishWhenDone starts the closing handshake when what was received
// matches every expected sequence and the harness is to close.
func (s *session) finishWhenDone() {
	if len(s.expected) == 0 {
		return
	}
	for _, e := range s.expected {
		if !equalObs(s.received, e.obs) {
			return
		}
	}
	if s.expClose.closedByMe && !s.suppressClose {
		s.sendClose(s.expClose.codes[0])
	}
}

// onClose handles the peer's close frame (Autobahn's processControlFrame
// and onCloseFrame).
func (s *session) onClose(p []byte) {
	code, reason := 1005, []byte(nil)
	if len(p) >= 2 {
		code, reason = int(p[0])<<8|int(p[1]), p[2:]
	}
	s.log(Event{Dir: "recv", Kind: "close", Code: code, Reason: string(reason)})
	if s.gotClose {
		return // a second close frame: ignored
	}
	s.gotClose = true
	s.remoteCode, s.remoteReason = code, string(reason)
	if len(p) >= 2 && !closeCodeValid(code) {
		s.violation(1002, fmt.Sprintf("close frame with the code %d (%s)", code, ruleCloseCodes))
	}
	if len(p) > 2 && !utf8.Valid(reason) {
		s.remoteReason = fmt.Sprintf("%q", reason)
		s.violation(1007, "close reason that is not UTF-8 ("+ruleUTF8+")")
	}
	switch s.state {
	case stateClosing:
		if s.closeTimer != nil {
			s.closeTimer.canceled = true
		}
		s.wasClean = true
		if s.isServer {
			s.drop(true)
			return
		}
		s.waitServerDrop()
	case stateOpen:
		s.wasClean = true
		s.sendCloseFrame(closeCode(1000, ""), true)
		if s.isServer {
			s.drop(false)
			return
		}
		s.waitServerDrop()
	}
}

// waitServerDrop gives the server one time unit to close the TCP
// connection after the closing handshake (Autobahn's
// serverConnectionDropTimeout); then the harness closes it.
func (s *session) waitServerDrop() {
	s.dropTimer = s.after(s.unit, func() {
		if s.state != stateClosed {
			s.wasClean = false
			s.notClean = "server did not drop TCP connection (in time)"
			s.log(Event{Dir: "note", Kind: "timeout", Text: "the server did not close the TCP connection within the timeout"})
			s.drop(true)
		}
	})
}

func equalObs(a, b []obs) bool {
	return slices.EqualFunc(a, b, func(x, y obs) bool {
		return x.kind == y.kind && x.binary == y.binary && bytes.Equal(x.data, y.data)
	})
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
