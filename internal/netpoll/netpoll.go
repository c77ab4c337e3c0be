package netpoll

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
)

// Errors of the package.
var (
	// ErrUnsupported is wrapped by the error of Watch for a connection
	// whose descriptor cannot be watched (it is not a socket with a
	// SyscallConn: TLS, an HTTP/2 stream, a pipe, a wrapper), and of
	// TryRead where non-blocking reads are not available. It wraps
	// errors.ErrUnsupported.
	ErrUnsupported = fmt.Errorf("netpoll: connection not supported: %w", errors.ErrUnsupported)

	// ErrWouldBlock is returned by TryRead when nothing is there to read.
	ErrWouldBlock = errors.New("netpoll: nothing to read")

	// ErrStopped is returned by Arm and TryRead after Stop.
	ErrStopped = errors.New("netpoll: watch stopped")
)

// Event says what a callback was called for.
type Event uint8

const (
	// Readable: a read will not wait. It finds data, the end of the
	// input, or an error.
	Readable Event = 1 << iota
	// HangUp: the peer shut down its side, or the connection failed; a
	// read returns the end of the input (or the error) after any data
	// still buffered. Set with Readable.
	HangUp
)

// String returns "readable", "readable|hangup", and so on.
func (e Event) String() string {
	var parts []string
	if e&Readable != 0 {
		parts = append(parts, "readable")
	}
	if e&HangUp != 0 {
		parts = append(parts, "hangup")
	}
	if rest := e &^ (Readable | HangUp); rest != 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("Event(%#x)", uint8(rest)))
	}
	return strings.Join(parts, "|")
}

// Options configures a Poller. A nil *Options, and zero fields, mean the
// defaults documented on each field. New copies the struct.
type Options struct {
	// Workers bounds how many callbacks run at once. Zero or less means
	// runtime.GOMAXPROCS(0) when the poller starts its workers.
	Workers int

	// Portable makes the poller use the portable implementation (a
	// goroutine per armed watch waiting in RawConn.Read) even where epoll
	// is available: for tests, and for comparison. Default false.
	Portable bool
}

// A Poller watches connections and runs their callbacks. The zero Poller
// is not usable; call New, or use Default.
type Poller struct {
	workers  int
	portable bool

	mu  sync.Mutex
	cur *instance // nil while there are no watches
	n   int       // watches of every instance, for Watching
}

// New returns a poller. It starts nothing until its first watch.
func New(opts *Options) *Poller {
	p := &Poller{}
	if opts != nil {
		p.workers = opts.Workers
		p.portable = opts.Portable
	}
	return p
}

var defaultPoller = New(nil)

// Default returns the poller of the process, with default options. Like
// every poller, it holds goroutines and an epoll descriptor only while it
// has watches.
func Default() *Poller { return defaultPoller }

// Watching returns how many watches the poller has (made and not stopped).
func (p *Poller) Watching() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// Watch registers c, disarmed: f runs once after each Arm, when c is
// readable (see the package documentation for the contract). c must be a
// socket with a SyscallConn (*net.TCPConn, *net.UnixConn); for others
// Watch returns an error wrapping ErrUnsupported, and the caller keeps a
// goroutine reading instead.
func (p *Poller) Watch(c net.Conn, f func(Event)) (*Watch, error) {
	return p.WatchHandler(c, funcHandler(f))
}

// A Handler receives the callbacks of a watch: Ready is called as Watch's
// f is.
type Handler interface {
	Ready(Event)
}

// funcHandler is the Handler of Watch's f; a func is stored in an
// interface without an allocation.
type funcHandler func(Event)

func (f funcHandler) Ready(ev Event) { f(ev) }

// WatchHandler is Watch with h.Ready as the callback. A pointer to a
// struct the caller has anyway, with a Ready method, costs nothing more,
// where a method value as Watch's f is an allocation of its own per
// watch.
func (p *Poller) WatchHandler(c net.Conn, h Handler) (*Watch, error) {
	sc, ok := c.(syscall.Conn)
	if !ok || !supported {
		return nil, fmt.Errorf("%w (%T)", ErrUnsupported, c)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	p.mu.Lock()
	in := p.cur
	if in == nil {
		if in, err = p.start(); err != nil {
			p.mu.Unlock()
			return nil, err
		}
		p.cur = in
	}
	in.n++
	p.n++
	p.mu.Unlock()
	w := &Watch{in: in, rc: rc, h: h}
	if in.ep != nil {
		in.ep.alloc(w)
	}
	return w, nil
}

// start makes an instance: an epoll set and its dispatcher, or the
// portable implementation. Called with p.mu held.
func (p *Poller) start() (*instance, error) {
	in := &instance{p: p, workers: p.workers}
	if in.workers <= 0 {
		in.workers = runtime.GOMAXPROCS(0)
	}
	in.cond.L = &in.qmu
	if !p.portable {
		ep, err := newEpoll(in)
		if err != nil {
			return nil, err
		}
		in.ep = ep // nil where there is no epoll
	}
	return in, nil
}

// release counts a stopped watch of in, and ends in with its last one.
func (p *Poller) release(in *instance) {
	p.mu.Lock()
	in.n--
	p.n--
	last := in.n == 0
	if last && p.cur == in {
		p.cur = nil
	}
	p.mu.Unlock()
	if last {
		in.shutdown()
	}
}

// An instance is a poller's working part while it has watches: the epoll
// set (Linux), the run queue and the workers. A poller whose last watch
// stops drops its instance; the next watch makes a new one.
type instance struct {
	p       *Poller
	n       int // watches; guarded by p.mu
	workers int // at most this many worker goroutines
	ep      *epoll

	qmu     sync.Mutex
	cond    sync.Cond
	queue   []*Watch // watches whose callbacks are due, from qhead
	qhead   int
	started int // worker goroutines
	idle    int // of which waiting for work
	closing bool
}

// enqueue hands w, whose callback is due, to the workers, starting one if
// none is idle and fewer than the bound run.
func (in *instance) enqueue(w *Watch) {
	in.qmu.Lock()
	in.queue = append(in.queue, w)
	switch {
	case in.idle > 0:
		in.cond.Signal()
	case in.started < in.workers:
		in.started++
		go in.work()
	}
	in.qmu.Unlock()
}

// work runs due callbacks until the instance shuts down.
func (in *instance) work() {
	in.qmu.Lock()
	for {
		for in.qhead == len(in.queue) && !in.closing {
			in.idle++
			in.cond.Wait()
			in.idle--
		}
		if in.qhead == len(in.queue) {
			in.started--
			in.qmu.Unlock()
			return
		}
		w := in.queue[in.qhead]
		in.queue[in.qhead] = nil
		in.qhead++
		if in.qhead == len(in.queue) {
			in.queue, in.qhead = in.queue[:0], 0
		}
		in.qmu.Unlock()
		w.run()
		in.qmu.Lock()
	}
}

// shutdown ends the instance: the dispatcher and, once the queue is empty,
// the workers.
func (in *instance) shutdown() {
	if in.ep != nil {
		in.ep.close()
	}
	in.qmu.Lock()
	in.closing = true
	in.cond.Broadcast()
	in.qmu.Unlock()
}

// A Watch is one watched connection. See the package documentation for
// the contract.
type Watch struct {
	in   *instance
	rc   syscall.RawConn
	h    Handler
	slot uint32 // in the epoll table; with gen, the token of its events
	gen  uint32

	mu      sync.Mutex
	added   bool  // in the epoll set
	waiting bool  // portable: a goroutine waits for readiness
	armed   bool  // a callback is asked for
	stopped bool  // Stop was called
	queued  bool  // on the run queue, or its callback running
	pending Event // what the next callback reports
	inline  bool  // SetInline: the callback runs where the readiness is seen
	// The epoll_ctl of arm takes its arguments from a pooled ctlCall
	// (epoll_linux.go), not from fields here: a watch is 64 bytes.
}

// Arm asks for one callback, when the connection is readable or at once
// if it already is. Arming an armed watch is allowed and asks for one
// callback still. It returns ErrStopped after Stop, and an error if the
// connection is closed.
func (w *Watch) Arm() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return ErrStopped
	}
	w.armed = true
	var err error
	if w.in.ep != nil {
		err = w.in.ep.arm(w)
	} else {
		err = w.armPortable()
	}
	if err != nil {
		w.armed = false
	}
	return err
}

// Stop ends the watch: no callback starts after Stop returns, though one
// may be running. Stop before closing the connection. Stopping twice is
// allowed.
func (w *Watch) Stop() {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	w.stopped = true
	w.armed = false
	if w.in.ep != nil && w.added {
		w.in.ep.del(w)
		w.added = false
	}
	w.mu.Unlock()
	if w.in.ep != nil {
		w.in.ep.free(w)
	}
	w.in.p.release(w.in)
}

// deliver records a readiness of w and queues its callback if it is armed.
func (w *Watch) deliver(ev Event) {
	w.mu.Lock()
	if w.stopped || !w.armed {
		w.mu.Unlock()
		return
	}
	w.armed = false
	w.pending |= ev
	if w.queued {
		w.mu.Unlock()
		return
	}
	w.queued = true
	inline := w.inline
	w.mu.Unlock()
	if inline {
		w.run()
		return
	}
	w.in.enqueue(w)
}

// SetInline says that w's callback never blocks and does little (it
// starts a goroutine, or signals one): it then runs on the goroutine that
// sees the readiness (the dispatcher on Linux) instead of being handed to
// a worker, which saves a switch of goroutines per readiness. Callbacks of
// one watch still never run concurrently.
func (w *Watch) SetInline() {
	w.mu.Lock()
	w.inline = true
	w.mu.Unlock()
}

// run calls the callback for what was delivered, again while more is.
func (w *Watch) run() {
	for {
		w.mu.Lock()
		ev := w.pending
		w.pending = 0
		if ev == 0 || w.stopped {
			w.queued = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		w.h.Ready(ev)
	}
}

// armPortable starts the goroutine that waits for readiness, unless one
// waits already. Called with w.mu held.
func (w *Watch) armPortable() error {
	if w.waiting {
		return nil
	}
	w.waiting = true
	go w.waitReady()
	return nil
}

// waitReady waits in RawConn.Read until the connection is readable and
// delivers the readiness.
func (w *Watch) waitReady() {
	var ev Event
	c := readinessCheck{}
	err := w.rc.Read(c.check)
	ev = c.ev
	if err != nil {
		ev = Readable | HangUp // closed, or failed: a read reports it
	}
	w.mu.Lock()
	w.waiting = false
	w.mu.Unlock()
	w.deliver(ev)
}

// TryRead reads into p what the connection has received, without
// waiting: n > 0 bytes, or io.EOF once the peer closed its side and
// everything before was read, or ErrWouldBlock when nothing is there, or
// the connection's error. It must not run at the same time as another
// read of the connection (it would wait for that read to end). It returns
// an error wrapping ErrUnsupported where non-blocking reads are not
// available (Windows, Plan 9, js, wasip1).
func (w *Watch) TryRead(p []byte) (int, error) {
	return tryRead(w.rc, p)
}
