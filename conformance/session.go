package conformance

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"

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
