package enginetest

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
)

// The cases of resources: bounded node memory and no goroutine left behind.

// boundedMemory: a log holds at most its limits, and a node that relays
// many times its limits through a hub topic to a subscriber keeps its heap
// bounded.
func (s *suite) boundedMemory(t *testing.T) {
	ctx := ctxFor(t, 2*time.Minute)
	e := s.node(t)
	name := s.topic(t)
	const size = 1024
	l := hub.Limits{MaxEntries: 50, MaxBytes: 32 << 10}
	el := open(t, ctx, e, name, l)
	payload := bytes.Repeat([]byte{'x'}, size)
	for range 200 {
		if _, err := el.Append(ctx, "", "", payload); err != nil {
			t.Fatal(err)
		}
	}
	all, bd := readAll(t, ctx, el, 0)
	held := 0
	for _, en := range all {
		held += len(en.Type) + len(en.Data)
	}
	if len(all) > l.MaxEntries || held > l.MaxBytes || bd.Last != 200 || len(all) == 0 {
		t.Errorf("log of limits %+v holds %d entries, %d bytes, Last %d; want at most the limits and Last 200", l, len(all), held, bd.Last)
	}

	tp := openTopic(t, ctx, e, s.topic(t), &hub.TopicOptions{MaxEntries: 64, MaxBytes: 256 << 10})
	sub, err := tp.Subscribe(ctx, hub.FromNow())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	big := bytes.Repeat([]byte{'y'}, 8<<10)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	publishRead := func(n int) {
		for range n {
			if _, err := tp.Publish(ctx, "", big); err != nil {
				t.Fatal(err)
			}
			if _, err := sub.Next(ctx); err != nil {
				var gap hub.GapError
				if !errors.As(err, &gap) {
					t.Fatal(err)
				}
			}
		}
	}
	publishRead(200) // warm up: 1.6 MB, the ring fills
	h0 := heap()
	n := s.scaled(1000)
	publishRead(n) // 8 MB more through a topic bounded to 256 KiB
	h1 := heap()
	grown := int64(h1) - int64(h0)
	t.Logf("heap %d KiB before, %d KiB after relaying %d KiB more", h0>>10, h1>>10, n*len(big)>>10)
	if limit := int64(n*len(big)) / 2; grown > limit {
		t.Errorf("heap grew by %d KiB while relaying %d KiB through a topic of 256 KiB, want less than %d KiB", grown>>10, n*len(big)>>10, limit>>10)
	}
}

// noLeak: a node with open topics, subscribers and waits leaves no
// goroutine behind once its topics and the node are closed.
func (s *suite) noLeak(t *testing.T) {
	ctx := ctxFor(t, time.Minute)
	name := s.topic(t)
	// Create the log first: a store running in this process may start
	// goroutines of its own for it.
	func() {
		e := s.h.Node(t)
		defer e.Close()
		el, err := e.Open(ctx, name, hub.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		el.Close()
	}()
	settle := func(want int) int {
		deadline := time.Now().Add(10 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= want || time.Now().After(deadline) {
				return n
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(100 * time.Millisecond)
	base := runtime.NumGoroutine()
	func() {
		e := s.h.Node(t)
		defer e.Close()
		tp, err := hub.OpenTopic(ctx, e, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tp.Close()
		sub, _ := tp.Subscribe(ctx, hub.FromNow())
		defer sub.Close()
		wctx, cancel := context.WithCancel(ctx)
		waiting := make(chan struct{})
		go func() {
			defer close(waiting)
			sub.Next(wctx)
		}()
		if _, err := tp.Publish(ctx, "", []byte("x")); err != nil {
			t.Fatal(err)
		}
		<-waiting
		cancel()
		go tp.Wait(wctx, hub.FromNow()) // ends with wctx, already done
	}()
	if n := settle(base); n > base {
		buf := make([]byte, 1<<20)
		k := runtime.Stack(buf, true)
		t.Fatalf("%d goroutines after closing the node, %d before:\n%s", n, base, buf[:k])
	}
}
