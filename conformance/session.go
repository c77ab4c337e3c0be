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
	"unicode/utf8"

	"github.com/pushwire/pushwire/wsproto/frame"
)

// The harness's side of one WebSocket connection running one case. It
// does what Autobahn|Testsuite's fuzzing protocol does, in the same order
// and with the same timers, so that the grades compare line by line:
//
//   - one goroutine (the loop) runs the case's script, the protocol and the
//     timers, like Autobahn's single-threaded reactor;
//   - a reader goroutine parses the peer's frames and hands them to the
//     loop; a writer goroutine writes what the loop queued, in order, in
//     the chops and pauses the case asked for;
//   - the connection ends when the TCP connection does; then the case is
//     graded.
//
// What the peer does never stops the loop for longer than a timer: every
// case sets one (killAfter, closeAfter), closing handshakes time out after
// one time unit, and a hard deadline backs them all.

// Bounds on what the harness keeps from the peer.
const (
	// maxFrame is the largest frame payload the harness reads, and
	// maxMessage the largest message it reassembles: 64 MiB, four times
	// the largest message a case sends.
	maxFrame   = 64 << 20
	maxMessage = 64 << 20
	// maxReceived bounds the observations kept for grading, by count and
	// by bytes; a peer sending more is failed.
	maxReceived      = 20000
	maxReceivedBytes = 256 << 20
	// maxEvents bounds the events kept per case; later ones are counted.
	maxEvents = 120
)

// chopPause is the pause between chops and synchronized writes, as in
// Autobahn (its _QUEUED_WRITE_DELAY of 10 µs through the reactor).
const chopPause = 10 * time.Microsecond

// connState is the state of the WebSocket connection (RFC 6455 §4, §7).
type connState uint8

const (
	stateOpen    connState = iota // open
	stateClosing                  // a close frame was sent
	stateClosed                   // the TCP connection is closed or being closed
)

// obs is an observation the cases compare: a data message, a pong, or a
// timeout marker that a case records (Autobahn's ("timeout", "A")).
type obs struct {
	kind   string // "message", "pong", "timeout"
	binary bool
	data   []byte
}

func (o obs) String() string {
	switch o.kind {
	case "message":
		if o.binary {
			return "binary(" + preview(o.data) + ")"
		}
		return "text(" + preview(o.data) + ")"
	case "timeout":
		return "timeout(" + string(o.data) + ")"
	}
	return o.kind + "(" + preview(o.data) + ")"
}

func textMsg(p []byte) obs   { return obs{kind: "message", data: p} }
func binaryMsg(p []byte) obs { return obs{kind: "message", binary: true, data: p} }
func pongObs(p []byte) obs   { return obs{kind: "pong", data: p} }
func marker(tag string) obs  { return obs{kind: "timeout", data: []byte(tag)} }

// expectation is one acceptable sequence of observations and the grade it
// earns (Autobahn's self.expected[outcome]).
type expectation struct {
	outcome Outcome
	obs     []obs
}

// closeExpect is what the close must look like (Autobahn's
// expectedClose).
type closeExpect struct {
	closedByMe   bool  // the harness sends the first close frame
	codes        []int // acceptable codes of the peer's close frame
	requireClean bool  // the closing handshake must complete and the server close TCP
	// wrongEndpointFatal fails the behaviour too when the wrong endpoint
	// closed (Autobahn's closedByWrongEndpointIsFatal, UTF-8 cases).
	wrongEndpointFatal bool
}

// inFrame is a frame from the peer, handed from the reader to the loop.
type inFrame struct {
	h       frame.Header
	hdrLen  int    // bytes of the header on the wire
	payload []byte // unmasked
	// fatal, when set, says why the reader stopped; the frame's fields
	// are unset unless protocol is set too.
	fatal string
	// protocol marks fatal as the peer's protocol violation (a frame the
	// harness cannot read on from), not the end of the stream; limit marks
	// it as more than the harness reads.
	protocol, limit bool
}

// writeItem is a write the loop queued.
type writeItem struct {
	b     []byte
	chop  int  // write in pieces of chop bytes with pauses
	paced bool // pause before the write (synchronized or chopped)
	drop  bool // close the connection after the writes before it
}

// session is the harness's side of one connection running one case.
type session struct {
	nc       net.Conn
	br       *bufio.Reader
	isServer bool // the harness is the server: it tests a client
	unit     time.Duration
	strict   bool
	rng      *rand.Rand
	start    time.Time
	pmd      *pmdState // permessage-deflate, when negotiated
	// peerLimit is the largest message the peer accepts, if known.
	peerLimit int64
	// data are the test files of the compression cases.
	data []*testData

	c *wsCase

	// What the case expects and how it reacts.
	expected      []expectation
	expClose      closeExpect
	suppressClose bool
	onMessage     func(o obs) // replaces recording the message (9.x, 12.x, 13.x)
	onLost        func()      // adjusts the grades at the end
	autoFragment  int         // fragment size of sendMessage, 0: none
	// pong, when set, is called on each pong before it is recorded.
	onPong func(p []byte)

	// Autobahn's protocol state.
	state        connState
	closedByMe   bool
	failedByMe   bool
	droppedByMe  bool
	wasClean     bool
	notClean     string // why the connection was not closed cleanly
	remoteCode   int    // 0: none received; 1005: a close frame without a code
	remoteReason string
	gotClose     bool // the peer's close frame arrived
	closeTimer   *timer
	dropTimer    *timer

	// The message being received.
	inside     bool
	msgBinary  bool
	msgComp    bool
	msg        []byte
	msgUTF8    utf8Validator
	checkUTF8  bool
	received   []obs
	recvBytes  int
	rxFrames   int            // frames received
	mayDecline bool           // the peer (a client) may still refuse the agreed compression
	txFrames   map[opcode]int // frames sent, by opcode (10.1.1)
	violations []string

	// Grades.
	behavior      Outcome
	result        string
	behaviorClose Outcome
	resultClose   string
	strictNotes   []string // NON-STRICT findings of -strict

	events  []Event
	dropped int

	// Machinery.
	in       chan inFrame
	quit     chan struct{}
	wmu      sync.Mutex
	wq       []writeItem
	wsig     chan struct{}
	werr     chan error
	pending  []byte
	timers   []*timer
	deadline time.Time // hard deadline, pushed back by each timer
	lost     bool
	wg       sync.WaitGroup
	stopOnce sync.Once
}

type timer struct {
	due      time.Time
	fn       func()
	canceled bool
}

func newSession(nc net.Conn, br *bufio.Reader, isServer bool, unit time.Duration, c *wsCase) *session {
	if br == nil {
		br = bufio.NewReaderSize(nc, 64<<10)
	}
	s := &session{
		nc:       nc,
		br:       br,
		isServer: isServer,
		unit:     unit,
		rng:      rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed)),
		start:    time.Now(),
		c:        c,
		behavior: Failed,
		result:   "Actual events differ from any expected.",
		expClose: closeExpect{closedByMe: true, codes: []int{1000}, requireClean: true},
		txFrames: map[opcode]int{},
		in:       make(chan inFrame, 1),
		quit:     make(chan struct{}),
		wsig:     make(chan struct{}, 1),
		werr:     make(chan error, 1),
	}
	s.deadline = s.start.Add(5 * unit)
	return s
}

// secs converts a time in Autobahn's seconds to the run's time unit.
func (s *session) secs(x float64) time.Duration { return time.Duration(x * float64(s.unit)) }

// masked reports whether the harness masks its frames: it does as a client.
func (s *session) masked() bool { return !s.isServer }

// log records an event.
func (s *session) log(e Event) {
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

// run runs the case to the end of the connection.
func (s *session) run(onOpen func(*session)) {
	s.wg.Add(2)
	go s.reader()
	go s.writer()
	onOpen(s)
	s.flush()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for !s.lost {
		next := s.deadline
		for _, tm := range s.timers {
			if tm.due.Before(next) {
				next = tm.due
			}
		}
		t.Reset(max(time.Until(next), 0))
		select {
		case f, ok := <-s.in:
			if !ok {
				s.connectionLost()
				break
			}
			s.onFrame(f)
		case <-t.C:
			s.fireTimers()
		case err := <-s.werr:
			if s.state != stateClosed {
				s.note("write: %v", err)
			}
			// Nothing more can be written, but what the peer sent before
			// it stopped reading may still arrive: over HTTP/2 a server
			// that ends its response resets the stream, which fails our
			// writes but keeps its DATA (RFC 9113 §8.1: "Clients MUST NOT
			// discard responses as a result of receiving such a
			// RST_STREAM frame"), its close frame among them. The reader
			// gets one time unit to hand it over before the connection is
			// closed.
			s.after(s.unit, func() { s.nc.Close() })
		}
		s.flush()
	}
	s.stop()
}

// stop ends the reader and the writer and closes the connection.
func (s *session) stop() {
	s.stopOnce.Do(func() { close(s.quit) })
	s.nc.Close()
	s.wg.Wait()
}

func (s *session) since() time.Duration { return time.Since(s.start) }

// fireTimers runs the timers that are due, and drops the connection at the
// hard deadline.
func (s *session) fireTimers() {
	now := time.Now()
	if !now.Before(s.deadline) {
		if s.state != stateClosed {
			s.log(Event{Dir: "note", Kind: "timeout", Text: "the case's hard deadline passed; dropping the connection"})
			s.drop(true)
		}
		s.deadline = now.Add(s.unit) // the reader ends once the connection is closed
		return
	}
	due := slices.DeleteFunc(slices.Clone(s.timers), func(t *timer) bool { return t.due.After(now) })
	s.timers = slices.DeleteFunc(s.timers, func(t *timer) bool { return !t.due.After(now) })
	for _, t := range due {
		if !t.canceled {
			t.fn()
		}
	}
}

// after runs fn on the loop after d; the hard deadline moves to 5 units
// after the latest timer.
func (s *session) after(d time.Duration, fn func()) *timer {
	t := &timer{due: time.Now().Add(d), fn: fn}
	s.timers = append(s.timers, t)
	if dl := t.due.Add(5 * s.unit); dl.After(s.deadline) {
		s.deadline = dl
	}
	return t
}

// killAfter fails the connection after secs unless it is closed by then
// (Autobahn's killAfter: a close frame with 1001).
func (s *session) killAfter(secs float64) {
	s.after(s.secs(secs), func() {
		if s.state != stateClosed {
			s.log(Event{Dir: "note", Kind: "timeout", Text: fmt.Sprintf("killAfter(%g) fired: failing the connection", secs)})
			s.failConnection(1001, "Going Away")
		}
	})
}

// closeAfter starts the closing handshake after secs with an empty close
// frame (Autobahn's closeAfter).
func (s *session) closeAfter(secs float64) {
	s.after(s.secs(secs), func() {
		if s.state != stateClosed {
			s.log(Event{Dir: "note", Kind: "timeout", Text: fmt.Sprintf("closeAfter(%g) fired: closing", secs)})
			s.sendCloseFrame(nil, false)
		}
	})
}

// continueLater runs fn after secs if the connection is not closed
// (Autobahn's continueLater).
func (s *session) continueLater(secs float64, fn func()) {
	s.after(s.secs(secs), func() {
		if s.state != stateClosed {
			fn()
		}
	})
}

// expect adds an acceptable sequence of observations and its grade.
func (s *session) expect(o Outcome, want ...obs) {
	s.expected = append(s.expected, expectation{o, want})
}

// expectClose sets what the close must look like.
func (s *session) expectClose(byMe bool, requireClean bool, codes ...int) {
	s.expClose = closeExpect{closedByMe: byMe, codes: codes, requireClean: requireClean}
}

// mark records a timeout marker (Autobahn's received.append(("timeout", tag))).
func (s *session) mark(tag string) {
	s.received = append(s.received, marker(tag))
	s.log(Event{Dir: "note", Kind: "timeout", Text: "marker " + tag})
}

// writing

// flush queues the bytes written since the last flush as one TCP write:
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

// reading

// reader reads the peer's frames and hands them to the loop. It never
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
