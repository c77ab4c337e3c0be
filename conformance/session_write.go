package conformance

import (
	"fmt"
	"net"
	"time"
)

// The session's writing side: the queue of writes, the frames a case
// sends, closing and dropping the connection.

// what a case sends in one step leaves in one write, as from Autobahn's
// transport.
func (s *session) flush() {
	if len(s.pending) > 0 {
		s.enqueue(writeItem{b: s.pending})
		s.pending = nil
	}
}

func (s *session) enqueue(it writeItem) {
	s.wmu.Lock()
	s.wq = append(s.wq, it)
	s.wmu.Unlock()
	select {
	case s.wsig <- struct{}{}:
	default:
	}
}

// writer writes the queued items in order.
func (s *session) writer() {
	defer s.wg.Done()
	for {
		s.wmu.Lock()
		if len(s.wq) == 0 {
			s.wmu.Unlock()
			select {
			case <-s.wsig:
				continue
			case <-s.quit:
				return
			}
		}
		it := s.wq[0]
		s.wq[0] = writeItem{}
		s.wq = s.wq[1:]
		s.wmu.Unlock()
		if it.drop {
			s.nc.Close()
			continue
		}
		if err := s.write(it); err != nil {
			select {
			case s.werr <- err:
			default:
			}
			// Keep draining the queue so that enqueue never blocks; the
			// loop closes the connection.
			s.wmu.Lock()
			s.wq = nil
			s.wmu.Unlock()
		}
	}
}

func (s *session) write(it writeItem) error {
	b := it.b
	n := it.chop
	if n <= 0 {
		n = len(b)
	}
	for first := true; len(b) > 0; first = false {
		if it.paced || !first {
			select {
			case <-s.quit:
				return net.ErrClosed
			case <-time.After(chopPause):
			}
		}
		k := min(n, len(b))
		s.nc.SetWriteDeadline(time.Now().Add(10*s.unit + time.Second))
		if _, err := s.nc.Write(b[:k]); err != nil {
			return err
		}
		b = b[k:]
	}
	return nil
}

// sendFrame sends one frame (Autobahn's sendFrame). A chopped or
// synchronized frame gets its own write(s); others join the step's write.
func (s *session) sendFrame(f frameSpec) {
	if s.state == stateClosed {
		return
	}
	b := appendFrame(nil, &f, s.masked(), s.rng)
	p := f.body()
	e := Event{Dir: "sent", Kind: "frame", Opcode: f.op.String(), Fin: f.fin, Rsv: int(f.rsv), Len: int64(len(p)), Data: preview(p)}
	if f.op == opClose && len(p) >= 2 {
		e.Code = int(p[0])<<8 | int(p[1])
	}
	switch {
	case f.length < 0:
		e.Text = "its 64-bit length has the most significant bit set"
	case f.length > 0:
		e.Text = fmt.Sprintf("its header claims %d bytes", f.length)
	case f.chop > 0:
		e.Text = fmt.Sprintf("in chops of %d bytes", f.chop)
	case f.sync:
		e.Text = "in its own write"
	}
	s.log(e)
	s.txFrames[f.op]++
	s.sendBytes(b, f.chop, f.sync)
}

// sendBytes sends raw bytes, in chops or in their own write when asked.
func (s *session) sendBytes(b []byte, chop int, sync bool) {
	if s.state == stateClosed {
		return
	}
	if chop > 0 || sync {
		s.flush()
		s.enqueue(writeItem{b: b, chop: chop, paced: true})
		return
	}
	s.pending = append(s.pending, b...)
}

// sendRaw sends bytes that are not a whole frame (a header, part of a
// payload) and logs them.
func (s *session) sendRaw(b []byte, what string) {
	s.log(Event{Dir: "sent", Kind: "bytes", Len: int64(len(b)), Data: preview(b), Text: what})
	s.sendBytes(b, 0, false)
}

// send sends frames, each with its own options.
func (s *session) send(fs ...frameSpec) {
	for _, f := range fs {
		s.sendFrame(f)
	}
}

// sendMessage sends a data message (Autobahn's sendMessage): compressed
// when permessage-deflate was agreed, in fragments of fragSize bytes (or
// the case's auto-fragment size) of the (compressed) payload.
func (s *session) sendMessage(p []byte, binary bool, fragSize int) {
	if s.state != stateOpen {
		return
	}
	op, rsv := opText, byte(0)
	if binary {
		op = opBinary
	}
	if s.pmd != nil {
		p, rsv = s.pmd.deflate(p), 4
	}
	if fragSize == 0 {
		fragSize = s.autoFragment
	}
	s.send(fragmentsOf(op, rsv, p, fragSize)...)
}

// sendPing sends a ping.
func (s *session) sendPing(p []byte) { s.sendFrame(frameSpec{op: opPing, fin: true, payload: p}) }

// sendClose starts the closing handshake with code (Autobahn's sendClose).
func (s *session) sendClose(code int) { s.sendCloseFrame(closeCode(code, ""), false) }

// sendCloseFrame sends a close frame with the raw payload p in the open
// state and moves to closing (Autobahn's sendCloseFrame). When the harness
// starts the closing handshake, the peer has one time unit to answer
// (Autobahn's closeHandshakeTimeout).
func (s *session) sendCloseFrame(p []byte, reply bool) {
	if s.state != stateOpen {
		return
	}
	s.sendFrame(frameSpec{op: opClose, fin: true, payload: p})
	s.state = stateClosing
	s.closedByMe = !reply
	if s.closedByMe {
		s.closeTimer = s.after(s.unit, func() {
			if s.state != stateClosed {
				s.wasClean = false
				s.notClean = "peer did not respond (in time) in closing handshake"
				s.log(Event{Dir: "note", Kind: "timeout", Text: "no close frame from the peer within the closing handshake timeout"})
				s.drop(true)
			}
		})
	}
}

// failConnection fails the connection (Autobahn's failConnection without
// failByDrop): a close frame with code, or, when closing already, the
// end of the TCP connection.
func (s *session) failConnection(code int, reason string) {
	if s.state == stateClosed {
		return
	}
	s.failedByMe = true
	if s.state != stateClosing {
		if len(reason) > 123 {
			reason = reason[:123]
		}
		s.sendCloseFrame(closeCode(code, reason), false)
		return
	}
	if !s.wasClean && s.notClean == "" {
		s.notClean = "the harness failed the connection during the closing handshake: " + why(code)
	}
	s.drop(false)
}

// why says why the harness fails the connection with code.
func why(code int) string {
	if code == 1001 {
		return "the case's timer ran out"
	}
	return "the peer broke a rule"
}

// drop closes the TCP connection: at once (abort), or after the queued
// writes.
func (s *session) drop(abort bool) {
	if s.state == stateClosed {
		return
	}
	s.droppedByMe = true
	s.state = stateClosed
	s.log(Event{Dir: "note", Kind: "tcp-closed", Text: "the harness closes the TCP connection"})
	if abort {
		s.pending = nil
		s.nc.Close()
		return
	}
	s.flush()
	s.enqueue(writeItem{drop: true})
}
