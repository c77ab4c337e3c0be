package wsproto

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// The spread of a broadcast over goroutines. A write to a socket costs a
// few microseconds of system call, most of it the kernel's send path, so a
// broadcast to thousands of connections from one goroutine leaves the
// other cores idle. From spreadMin selected members on, Broadcast starts
// one helper goroutine per further spreadShare members, at most
// GOMAXPROCS−1, and writes a share itself; each takes spreadChunk members
// at a time from a shared index, so a goroutine that is descheduled or
// slowed by a member leaves the rest to the others. Broadcast returns when
// every member was sent to, which keeps the messages of consecutive
// broadcasts in order on every connection.
const (
	spreadMin   = 1024 // below this one goroutine writes everything
	spreadShare = 512  // members per goroutine, at least
	spreadChunk = 64   // members taken at a time from the shared index
)

// fanout is the state of one Broadcast: the members it writes to, in a
// slice kept from one Broadcast to the next (the group keeps one spare
// fanout; concurrent Broadcasts make more, of which it keeps the last), and
// what its helpers share. Nothing in it is allocated per Broadcast in
// steady state: the group holds a pointer per member in it.
type fanout struct {
	g    *Group
	ms   []*member
	pm   *PreparedMessage
	next atomic.Int64 // index of the next chunk of ms to take
	sent atomic.Int64 // members that took pm
	wg   sync.WaitGroup
	help func() // f.helper, made once so that go f.help() allocates nothing
}

// snapshot returns a fanout holding the members for which filter returns
// true (all of them when filter is nil). The member list is copied under
// g.mu and the filter runs after, on the calling goroutine, without a lock:
// it may call anything, Conn.Close and Group.Len included.
func (g *Group) snapshot(filter func(*Conn) bool) *fanout {
	f := g.spare.Swap(nil)
	if f == nil {
		f = &fanout{g: g}
		f.help = f.helper
	}
	g.mu.Lock()
	f.ms = append(f.ms[:0], g.members...)
	g.mu.Unlock()
	if filter != nil {
		k := 0
		for _, m := range f.ms {
			if filter(m.c) {
				f.ms[k] = m
				k++
			}
		}
		clear(f.ms[k:])
		f.ms = f.ms[:k]
	}
	return f
}

// send sends pm to every member of f, spread over goroutines when there
// are enough of them, and returns how many took it. It returns when every
// member was sent to (written, queued, or skipped).
func (f *fanout) send(pm *PreparedMessage) int {
	helpers := spreadHelpers(len(f.ms))
	if helpers == 0 {
		n := 0
		for _, m := range f.ms {
			if m.send(pm) {
				n++
			}
		}
		return n
	}
	f.pm = pm
	f.next.Store(0)
	f.sent.Store(0)
	f.wg.Add(helpers)
	for range helpers {
		go f.help()
	}
	f.work()
	f.wg.Wait()
	f.pm = nil
	return int(f.sent.Load())
}

// spreadHelpers returns how many helper goroutines a Broadcast to n
// members starts.
func spreadHelpers(n int) int {
	if n < spreadMin {
		return 0
	}
	return max(0, min(runtime.GOMAXPROCS(0), n/spreadShare)-1)
}

// helper is a helper goroutine of f.send.
func (f *fanout) helper() {
	f.work()
	f.wg.Done()
}

// work sends f.pm to chunks of f.ms until none is left.
func (f *fanout) work() {
	pm, ms := f.pm, f.ms
	n := 0
	for {
		i := int(f.next.Add(spreadChunk)) - spreadChunk
		if i >= len(ms) {
			break
		}
		for _, m := range ms[i:min(i+spreadChunk, len(ms))] {
			if m.send(pm) {
				n++
			}
		}
	}
	f.sent.Add(int64(n))
}

// release gives f back to its group for the next Broadcast, without its
// pointers to members, so that it keeps no closed connection alive.
func (f *fanout) release() {
	clear(f.ms)
	f.ms = f.ms[:0]
	f.g.spare.Store(f)
}
