// Package wsidle lets the goroutine that reads a wsproto.Conn end while the
// connection waits for its next message, and a new one start once the
// peer sends something: an idle connection then holds no goroutine and no
// read buffer, only its Conn and a netpoll watch (see internal/netpoll).
// The echo server (internal/wsecho) and the hub's WebSocket transport
// (httpstream) use it; it is internal so that wsproto's exported API does
// not grow.
//
// # Contract
//
// The reader calls Park between two messages, where it would call Read.
// Except on its first call for a connection (right after the handshake,
// where an idle connection is parked at once), Park first waits a short
// grace for the next message in a blocking read (the runtime's read deadline bounds it,
// no timer of its own), so that a busy connection is not parked and
// resumed for every message: that would cost an epoll re-arm and a new
// goroutine per message. Park reports false when Read would not have to wait (input is buffered,
// a message is under way, the connection is closed or failing) or when the
// connection cannot be watched (TLS, HTTP/2 streams, a wrapped net.Conn):
// the reader then calls Read as usual. It reports true when the
// connection has nothing to read: the reader must then return without
// touching the connection's read side, and resume runs later on a new
// goroutine, once the connection is readable, its peer hung up, or it was
// closed (Close, CloseNow, a failed write, from any goroutine). A
// readiness may be spurious; resume simply calls Park again. Writes and
// Close may be called at any time, from any goroutine.
//
// Once Park has parked a connection served by wsproto.Handler, the return
// of the Handler's serve function no longer closes it: the reader closes
// it when it is done (Read failed, or it decided to). The watch ends when
// the connection closes, whoever closes it.
//
// # Implementation
//
// wsproto registers the hooks at init (wsproto/idle.go): the State inside
// each Conn, its net.Conn, a non-blocking fill of its read buffer, and a
// close hook. This package imports nothing of wsproto, so that wsproto
// can import it.
//
// # Limits
//
// Between messages a parked connection holds its Conn (one 768-byte
// allocation with the 120-byte array it reads frame headers into, and no
// channel: its locks
// make a wake-up channel only for a waiter), this State, the watch (a
// 64-byte object whose callback is this State, and an epoll item in the
// kernel) and the close hook that stops it (32 bytes). Pong frames,
// the answers to a heartbeat's or a keep-alive's pings, are handled
// without waking the reader. A ping or close frame from the peer wakes
// it, and Read handles it; Read then waits for the next data message, so
// a peer that pings an idle connection costs it a goroutine until its next
// message.
package wsidle

import (
	"net"
	"sync"

	"github.com/pushwire/pushwire/internal/netpoll"
)

// State is what a connection keeps for parking: a field of wsproto.Conn.
// The zero value is ready.
type State struct {
	mu          sync.Mutex
	w           *netpoll.Watch
	resume      func()
	detached    bool // parked once: Handler's serve returning leaves the connection open
	unsupported bool // the connection cannot be watched
}

// Hooks are wsproto's side of the package: functions of a *wsproto.Conn,
// passed as any.
type Hooks struct {
	// State returns the connection's State.
	State func(c any) *State
	// NetConn returns the connection's net.Conn.
	NetConn func(c any) net.Conn
	// Fill reports whether Read would find input without waiting: input
	// buffered, a message under way, the connection failed or closed, or
	// another read in progress. Otherwise it releases the pooled read
	// buffer, reads into the connection's own buffer with w.TryRead (which
	// never waits), and reports whether that found bytes or an error
	// (which Read reports again).
	Fill func(c any, w *netpoll.Watch) bool
	// OnClose runs f once the connection is closed, at once if it is.
	OnClose func(c any, f func())
	// Grace waits a short while (the connection's idle grace) for input
	// in a blocking read, with the runtime's read deadline, and reports
	// whether Read would find input without waiting; false when the grace
	// passed with nothing to read (or the connection's read deadline is
	// in use), and the connection may be parked.
	Grace func(c any) bool
}

var hooks Hooks

// Register sets the hooks; wsproto calls it at init.
func Register(h Hooks) { hooks = h }

// Detached reports whether the connection was parked, so that the return
// of wsproto.Handler's serve function must leave it open.
func (s *State) Detached() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.detached
}

// Park parks the *wsproto.Conn c if it has nothing to read, and reports
// whether it did; resume then runs on a new goroutine once c is readable.
// parking, if not nil, runs just before c is parked, on the caller's
// goroutine: the last moment the reader may touch its own state (release
// its buffer), since resume may run as soon as c is parked, even before
// Park returns. See the package documentation.
func Park(c any, resume, parking func()) bool {
	if hooks.State == nil {
		return false
	}
	s := hooks.State(c)
	s.mu.Lock()
	if s.unsupported {
		s.mu.Unlock()
		return false
	}
	if s.w != nil && hooks.Grace != nil {
		// A busy connection does not park: its reader waits a short
		// grace for the next message in the runtime's poller, without
		// holding s.mu, and parks only once that passed.
		s.mu.Unlock()
		if hooks.Grace(c) {
			return false
		}
		s.mu.Lock()
	}
	if s.w == nil {
		w, err := netpoll.Default().WatchHandler(hooks.NetConn(c), (*readyState)(s))
		if err != nil {
			s.unsupported = true
			s.mu.Unlock()
			return false
		}
		w.SetInline() // ready only starts a goroutine
		s.w = w
		s.mu.Unlock()
		// Outside s.mu: on a closed connection the hook runs at once.
		hooks.OnClose(c, s.closed)
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	if hooks.Fill(c, s.w) {
		return false
	}
	if parking != nil {
		parking()
	}
	s.resume = resume
	if s.w.Arm() != nil {
		s.resume = nil
		return false // closed or stopped: Read reports it
	}
	s.detached = true
	return true
}

// closed runs once the connection is closed: the watch ends, and a parked
// reader resumes, to find Read failing.
func (s *State) closed() {
	s.mu.Lock()
	w, f := s.w, s.resume
	s.resume = nil
	s.mu.Unlock()
	w.Stop()
	if f != nil {
		go f()
	}
}

// readyState is a State as the watch's netpoll.Handler: no method value
// to allocate per connection.
type readyState State

// Ready is the watch's callback, on a poller worker, which must not
// block: the reader resumes on a goroutine of its own.
func (r *readyState) Ready(netpoll.Event) {
	s := (*State)(r)
	s.mu.Lock()
	f := s.resume
	s.resume = nil
	s.mu.Unlock()
	if f != nil {
		go f()
	}
}
