package netpoll

import (
	"fmt"
	"os"
	"sync"
	"syscall"
)

// epoll is a poller instance's epoll set and the goroutine that waits on
// it.
type epoll struct {
	fd   int
	file *os.File // fd, registered with Go's netpoller

	mu    sync.Mutex
	slots []*Watch // by slot number; nil when free
	gens  []uint32 // each slot's generation: one more each time it is freed
	spare []uint32 // free slot numbers
}

// The events a watch is armed for. EPOLLERR and EPOLLHUP are reported
// whether asked for or not.
const armEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// maxEvents is how many events one epoll_wait returns at most.
const maxEvents = 256

// newEpoll creates the epoll set of in and starts its dispatcher.
func newEpoll(in *instance) (*epoll, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("netpoll: %w", os.NewSyscallError("epoll_create1", err))
	}
	// Non-blocking, so that os.NewFile registers it with Go's netpoller:
	// the dispatcher then waits for it like for a socket, without holding
	// a thread in epoll_wait.
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("netpoll: %w", os.NewSyscallError("fcntl", err))
	}
	e := &epoll{fd: fd, file: os.NewFile(uintptr(fd), "netpoll-epoll")}
	rc, err := e.file.SyscallConn()
	if err != nil {
		e.file.Close()
		return nil, fmt.Errorf("netpoll: %w", err)
	}
	go e.dispatch(in, rc)
	return e, nil
}

// dispatch waits for events and delivers them, until the set is closed.
func (e *epoll) dispatch(in *instance, rc syscall.RawConn) {
	var evs [maxEvents]syscall.EpollEvent
	var n int
	var werr error
	wait := func(fd uintptr) bool {
		n, werr = syscall.EpollWait(int(fd), evs[:], 0)
		if werr == syscall.EINTR {
			n, werr = 0, nil
			return true // events may be there still: look again
		}
		// Nothing: RawConn.Read waits until the epoll descriptor is
		// readable, which it is as soon as an event is ready.
		return n > 0 || werr != nil
	}
	for {
		if err := rc.Read(wait); err != nil || werr != nil {
			return // closed
		}
		for i := range evs[:n] {
			ev := &evs[i]
			w := e.lookup(uint32(ev.Fd), uint32(ev.Pad))
			if w == nil {
				continue // stopped meanwhile
			}
			got := Readable
			if ev.Events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 {
				got |= HangUp
			}
			w.deliver(got)
		}
	}
}

// alloc gives w a slot, and with its generation the token of its events.
func (e *epoll) alloc(w *Watch) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if k := len(e.spare); k > 0 {
		w.slot = e.spare[k-1]
		e.spare = e.spare[:k-1]
	} else {
		w.slot = uint32(len(e.slots))
		e.slots = append(e.slots, nil)
		e.gens = append(e.gens, 0)
	}
	w.gen = e.gens[w.slot]
	e.slots[w.slot] = w
}

// lookup returns the watch of a token, or nil if it was freed since.
func (e *epoll) lookup(slot, gen uint32) *Watch {
	e.mu.Lock()
	defer e.mu.Unlock()
	if int(slot) >= len(e.slots) || e.gens[slot] != gen {
		return nil
	}
	return e.slots[slot]
}

// free releases w's slot; events that still carry its token are dropped.
func (e *epoll) free(w *Watch) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.slots[w.slot] = nil
	e.gens[w.slot]++
	e.spare = append(e.spare, w.slot)
}

// arm adds w's descriptor to the set, or re-arms it, for one event. It
// runs inside RawConn.Control, which holds the descriptor open (and fails
// once the connection is closed), so that a descriptor number that was
// closed and reused is never touched. Called with w.mu held.
func (e *epoll) arm(w *Watch) error {
	op := syscall.EPOLL_CTL_MOD
	if !w.added {
		op = syscall.EPOLL_CTL_ADD
	}
	c := ctlCalls.Get().(*ctlCall)
	c.ep, c.op = e.fd, op
	c.ev = syscall.EpollEvent{Events: armEvents, Fd: int32(w.slot), Pad: int32(w.gen)}
	err := w.rc.Control(c.fn)
	cerr := c.err
	c.err = nil
	ctlCalls.Put(c)
	if err != nil {
		return err
	}
	if cerr != nil {
		return fmt.Errorf("netpoll: %w", os.NewSyscallError("epoll_ctl", cerr))
	}
	w.added = true
	return nil
}

// A ctlCall is the epoll_ctl of arm, inside RawConn.Control: its arguments,
// its result, and the function Control runs, bound once. They are pooled
// rather than kept in each Watch, so that arming allocates nothing and an
// idle watch does not carry them.
type ctlCall struct {
	ep, op int
	ev     syscall.EpollEvent
	err    error
	fn     func(uintptr)
}

var ctlCalls = sync.Pool{New: func() any {
	c := &ctlCall{}
	c.fn = c.ctl
	return c
}}

func (c *ctlCall) ctl(fd uintptr) {
	c.err = syscall.EpollCtl(c.ep, c.op, int(fd), &c.ev)
}

// del takes w's descriptor out of the set, if the connection is still
// open (a closed descriptor left the set by itself). Called with w.mu held.
func (e *epoll) del(w *Watch) {
	w.rc.Control(func(fd uintptr) {
		syscall.EpollCtl(e.fd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	})
}

// close closes the set; the dispatcher ends.
func (e *epoll) close() { e.file.Close() }
