package netpoll

import (
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// modes are the implementations a test runs with: epoll where there is
// one (Linux), and the portable one everywhere.
func modes(t *testing.T, f func(t *testing.T, p *Poller)) {
	t.Run("native", func(t *testing.T) { f(t, New(nil)) })
	t.Run("portable", func(t *testing.T) { f(t, New(&Options{Portable: true})) })
}

// pair returns both ends of a loopback TCP connection, closed when the
// test ends.
func pair(t testing.TB) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return s.(*net.TCPConn), c.(*net.TCPConn)
}

// events records the callbacks of a watch.
type events struct {
	ch chan Event
}

func newEvents() *events            { return &events{ch: make(chan Event, 100)} }
func (e *events) callback(ev Event) { e.ch <- ev }
func (e *events) next(t *testing.T) Event {
	t.Helper()
	select {
	case ev := <-e.ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no callback in 10 s")
		return 0
	}
}
func (e *events) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case ev := <-e.ch:
		t.Fatalf("callback %v, want none", ev)
	case <-time.After(d):
	}
}

// TestReadableAndHangUp: one callback per Arm, when data arrives and when
// the peer closes; TryRead reads without waiting.
func TestReadableAndHangUp(t *testing.T) {
	modes(t, func(t *testing.T, p *Poller) {
		s, c := pair(t)
		ev := newEvents()
		w, err := p.Watch(s, ev.callback)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		buf := make([]byte, 64)
		if n, err := w.TryRead(buf); n != 0 || !errors.Is(err, ErrWouldBlock) {
			t.Fatalf("TryRead with nothing sent = %d, %v, want 0, ErrWouldBlock", n, err)
		}
		if err := w.Arm(); err != nil {
			t.Fatal(err)
		}
		ev.none(t, 50*time.Millisecond)
		c.Write([]byte("hello"))
		if got := ev.next(t); got != Readable {
			t.Fatalf("callback after a write: %v, want readable", got)
		}
		// One-shot: more data without Arm, no callback.
		c.Write([]byte(" world"))
		ev.none(t, 50*time.Millisecond)
		var got []byte
		for len(got) < len("hello world") {
			n, err := w.TryRead(buf)
			if err != nil {
				t.Fatalf("TryRead = %v after %q", err, got)
			}
			got = append(got, buf[:n]...)
		}
		if string(got) != "hello world" {
			t.Fatalf("read %q, want %q", got, "hello world")
		}
		if _, err := w.TryRead(buf); !errors.Is(err, ErrWouldBlock) {
			t.Fatalf("TryRead after reading everything = %v, want ErrWouldBlock", err)
		}
		if err := w.Arm(); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if got := ev.next(t); got != Readable|HangUp {
			t.Fatalf("callback after the peer closed: %v, want readable|hangup", got)
		}
		if _, err := w.TryRead(buf); err != io.EOF {
			t.Fatalf("TryRead after the peer closed = %v, want EOF", err)
		}
	})
}

// TestArmReady: arming a connection that is readable already calls back
// at once.
func TestArmReady(t *testing.T) {
	modes(t, func(t *testing.T, p *Poller) {
		s, c := pair(t)
		c.Write([]byte("x"))
		time.Sleep(20 * time.Millisecond) // let it arrive
		ev := newEvents()
		w, err := p.Watch(s, ev.callback)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		w.Arm()
		if got := ev.next(t); got&Readable == 0 {
			t.Fatalf("callback: %v, want readable", got)
		}
		// Still unread: arming again calls back again.
		w.Arm()
		if got := ev.next(t); got&Readable == 0 {
			t.Fatalf("second callback: %v, want readable", got)
		}
	})
}

// TestStop: no callback after Stop, and Arm fails.
func TestStop(t *testing.T) {
	modes(t, func(t *testing.T, p *Poller) {
		s, c := pair(t)
		ev := newEvents()
		w, err := p.Watch(s, ev.callback)
		if err != nil {
			t.Fatal(err)
		}
		w.Arm()
		w.Stop()
		w.Stop() // twice is fine
		c.Write([]byte("x"))
		ev.none(t, 100*time.Millisecond)
		if err := w.Arm(); !errors.Is(err, ErrStopped) {
			t.Fatalf("Arm after Stop = %v, want ErrStopped", err)
		}
		if n := p.Watching(); n != 0 {
			t.Fatalf("Watching() = %d after Stop, want 0", n)
		}
	})
}

// TestClosedFirst: a connection closed before its watch is stopped ends
// the watch's registration, Arm reports the close, and Stop is harmless.
func TestClosedFirst(t *testing.T) {
	modes(t, func(t *testing.T, p *Poller) {
		s, _ := pair(t)
		ev := newEvents()
		w, err := p.Watch(s, ev.callback)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if err := w.Arm(); err == nil && !p.portable {
			t.Fatal("Arm on a closed connection = nil, want an error")
		}
		w.Stop()
	})
}

// TestDescriptorReuse: a connection closed without stopping its watch
// frees its descriptor number for the next connection; the new
// connection's events go to its own watch, and stopping the old watch late
// leaves the new registration alone.
func TestDescriptorReuse(t *testing.T) {
	p := New(nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dial := func() (*net.TCPConn, net.Conn) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(); s.Close() })
		return c.(*net.TCPConn), s
	}
	fd := func(c *net.TCPConn) (n uintptr) {
		rc, _ := c.SyscallConn()
		rc.Control(func(fd uintptr) { n = fd })
		return n
	}
	c1, _ := dial()
	old := newEvents()
	w1, err := p.Watch(c1, old.callback)
	if err != nil {
		t.Fatal(err)
	}
	defer w1.Stop()
	w1.Arm()
	fd1 := fd(c1)
	c1.Close()
	// The lowest free descriptor goes to the next socket: the dialed one.
	c2, s2 := dial()
	if fd(c2) != fd1 {
		t.Skipf("descriptor %d was not reused for the new connection (got %d)", fd1, fd(c2))
	}
	cur := newEvents()
	w2, err := p.Watch(c2, cur.callback)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Stop()
	w2.Arm()
	w1.Stop() // late: must not take c2 out of the set
	s2.Write([]byte("x"))
	if got := cur.next(t); got&Readable == 0 {
		t.Fatalf("callback of the new connection: %v, want readable", got)
	}
	old.none(t, 50*time.Millisecond)
}

// TestSerialCallbacks: callbacks of one watch never overlap, even when the
// callback arms again at once and data keeps arriving.
func TestSerialCallbacks(t *testing.T) {
	modes(t, func(t *testing.T, p *Poller) {
		s, c := pair(t)
		var running, overlaps, calls atomic.Int32
		total := 0
		var w *Watch
		done := make(chan struct{})
		w, err := p.Watch(s, func(Event) {
			if running.Add(1) > 1 {
				overlaps.Add(1)
			}
			calls.Add(1)
			w.Arm() // before reading: the next readiness may come at once
			buf := make([]byte, 7)
			for {
				n, err := w.TryRead(buf)
				total += n
				if err == io.EOF {
					close(done)
					break
				}
				if err != nil {
					break
				}
			}
			time.Sleep(time.Millisecond)
			running.Add(-1)
		})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		w.Arm()
		for range 200 {
			c.Write([]byte("0123456789"))
		}
		c.Close()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("EOF not seen; read %d bytes in %d callbacks", total, calls.Load())
		}
		if overlaps.Load() != 0 {
			t.Fatalf("%d overlapping callbacks", overlaps.Load())
		}
		if total != 2000 {
			t.Fatalf("read %d bytes, want 2000", total)
		}
	})
}

// TestUnsupported: connections without a descriptor are refused.
func TestUnsupported(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := New(nil).Watch(a, func(Event) {}); !errors.Is(err, ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Watch(net.Pipe) = %v, want ErrUnsupported", err)
	}
}

// TestManyIdle: 1,000 armed, idle connections hold no goroutine each on
// epoll (the dispatcher only, workers start when callbacks run), and one
// each in the portable implementation; every one gets its callback when
// its peer writes; the goroutines are gone when the watches stop.
func TestManyIdle(t *testing.T) {
	const conns = 1000
	modes(t, func(t *testing.T, p *Poller) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		servers := make([]*net.TCPConn, conns)
		clients := make([]net.Conn, conns)
		for i := range conns {
			if clients[i], err = net.Dial("tcp", ln.Addr().String()); err != nil {
				t.Fatal(err)
			}
			s, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			servers[i] = s.(*net.TCPConn)
		}
		defer func() {
			for i := range conns {
				clients[i].Close()
				servers[i].Close()
			}
		}()
		before := runtime.NumGoroutine()
		var wg sync.WaitGroup
		watches := make([]*Watch, conns)
		for i, s := range servers {
			w, err := p.Watch(s, func(Event) { wg.Done() })
			if err != nil {
				t.Fatal(err)
			}
			watches[i] = w
			w.Arm()
		}
		time.Sleep(50 * time.Millisecond)
		grown := runtime.NumGoroutine() - before
		t.Logf("%d idle watches: %d more goroutines", conns, grown)
		if p.portable || !supportsEpoll {
			if grown < conns {
				t.Errorf("portable: %d more goroutines for %d armed watches, want one each", grown, conns)
			}
		} else if grown > 1 {
			t.Errorf("epoll: %d more goroutines for %d armed watches, want the dispatcher only", grown, conns)
		}
		wg.Add(conns)
		for _, c := range clients {
			c.Write([]byte("x"))
		}
		waitGroup(t, &wg, 20*time.Second)
		for _, w := range watches {
			w.Stop()
		}
		if n := p.Watching(); n != 0 {
			t.Fatalf("Watching() = %d after stopping every watch, want 0", n)
		}
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && !p.portable && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if g := runtime.NumGoroutine(); !p.portable && g > before {
			t.Errorf("%d goroutines after every watch stopped, want %d as before", g, before)
		}
	})
}

func waitGroup(t *testing.T, wg *sync.WaitGroup, d time.Duration) {
	t.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("callbacks missing after %v", d)
	}
}

// TestEventString covers Event's names.
func TestEventString(t *testing.T) {
	for ev, want := range map[Event]string{Readable: "readable", Readable | HangUp: "readable|hangup", 0: "Event(0x0)", 8: "Event(0x8)"} {
		if got := ev.String(); got != want {
			t.Errorf("Event(%d).String() = %q, want %q", ev, got, want)
		}
	}
}

// TestInline: an inline watch's callback runs without a worker, once per
// Arm, and arming from inside the callback is allowed.
func TestInline(t *testing.T) {
	modes(t, func(t *testing.T, p *Poller) {
		s, c := pair(t)
		ev := newEvents()
		w, err := p.Watch(s, ev.callback)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		w.SetInline()
		w.Arm()
		ev.none(t, 50*time.Millisecond)
		c.Write([]byte("x"))
		if got := ev.next(t); got&Readable == 0 {
			t.Fatalf("callback: %v, want readable", got)
		}
		ev.none(t, 50*time.Millisecond) // disarmed until Arm
		var buf [8]byte
		if n, err := w.TryRead(buf[:]); n != 1 || err != nil {
			t.Fatalf("TryRead = %d, %v, want 1, nil", n, err)
		}
		w.Arm()
		c.Close()
		if got := ev.next(t); got&Readable == 0 {
			t.Fatalf("callback at hang-up: %v, want readable", got)
		}
		p.mu.Lock()
		in := p.cur
		p.mu.Unlock()
		if in != nil {
			in.qmu.Lock()
			started := in.started
			in.qmu.Unlock()
			if in.ep != nil && started != 0 {
				t.Errorf("%d workers started for an inline watch, want 0", started)
			}
		}
	})
}

// TestWatchSmall: an idle watch is one 64-byte object (the arguments of
// arm's epoll_ctl are pooled, not kept in it), and re-arming an epoll
// watch allocates nothing.
func TestWatchSmall(t *testing.T) {
	if size := unsafe.Sizeof(Watch{}); size > 64 {
		t.Errorf("Watch is %d bytes, want at most 64", size)
	}
	if !supportsEpoll {
		t.Skip("no epoll on " + runtime.GOOS + ": arming starts a goroutine")
	}
	srv, _ := pair(t)
	w, err := New(nil).Watch(srv, func(Event) {})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := w.Arm(); err != nil { // EPOLL_CTL_ADD
		t.Fatal(err)
	}
	if raceEnabled {
		return
	}
	if n := testing.AllocsPerRun(100, func() {
		if err := w.Arm(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Arm allocates %.1f times, want 0", n)
	}
}

// readyCounter is a Handler.
type readyCounter struct{ ch chan Event }

func (r *readyCounter) Ready(ev Event) { r.ch <- ev }

// TestWatchHandler: a Handler's Ready gets the callbacks as Watch's f
// does, and watching with a pointer the caller has anyway allocates one
// object less than watching with a method value.
func TestWatchHandler(t *testing.T) {
	modes(t, func(t *testing.T, p *Poller) {
		srv, cli := pair(t)
		r := &readyCounter{ch: make(chan Event, 10)}
		w, err := p.WatchHandler(srv, r)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		if err := w.Arm(); err != nil {
			t.Fatal(err)
		}
		cli.Write([]byte("x"))
		select {
		case ev := <-r.ch:
			if ev&Readable == 0 {
				t.Errorf("Ready(%v), want readable", ev)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no callback")
		}
	})
	if raceEnabled || !supportsEpoll {
		return
	}
	p := New(nil)
	srv, _ := pair(t)
	keep, err := p.Watch(srv, func(Event) {}) // the instance stays up
	if err != nil {
		t.Fatal(err)
	}
	defer keep.Stop()
	r := &readyCounter{}
	handler := testing.AllocsPerRun(50, func() {
		w, _ := p.WatchHandler(srv, r)
		w.Stop()
	})
	method := testing.AllocsPerRun(50, func() {
		w, _ := p.Watch(srv, r.Ready)
		w.Stop()
	})
	if handler > method-1 {
		t.Errorf("WatchHandler allocates %.1f times, Watch with a method value %.1f: want one less", handler, method)
	}
}
