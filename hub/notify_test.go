package hub

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"
)

// notifyNext is Next built on TryNext and Notify, as a reader without a
// goroutine of its own reads: it waits for the notification on a channel
// only because a test needs to block somewhere.
func notifyNext(ctx context.Context, sub Subscription) (Entry, error) {
	n := sub.(Notifier)
	wake := make(chan struct{}, 1)
	f := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	for {
		e, ok, err := n.TryNext(ctx)
		if ok {
			return e, err
		}
		waiting, err := n.Notify(ctx, f)
		if err != nil {
			return Entry{}, err
		}
		if !waiting {
			continue
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return Entry{}, ctx.Err()
		}
	}
}

// TestNotify: Notify calls its function once after a publish, not before,
// and not again until asked; it declines when there is something to read;
// TryNext returns what Next would.
func TestNotify(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		tp := NewTopic(&TopicOptions{Epoch: "e1"})
		sub, _ := tp.Subscribe(ctx, FromNow())
		n := sub.(Notifier)
		var calls atomic.Int32
		f := func() { calls.Add(1) }

		if e, ok, err := n.TryNext(ctx); ok {
			t.Fatalf("TryNext on an empty topic = %d, %v, want nothing (ok false)", e.Seq, err)
		}
		if waiting, err := n.Notify(ctx, f); !waiting || err != nil {
			t.Fatalf("Notify with nothing to read = %v, %v, want true, nil", waiting, err)
		}
		// A second Notify while one is pending arranges nothing more.
		if waiting, err := n.Notify(ctx, f); !waiting || err != nil {
			t.Fatalf("Notify while pending = %v, %v, want true, nil", waiting, err)
		}
		synctest.Wait()
		if c := calls.Load(); c != 0 {
			t.Fatalf("%d notifications before any publish, want 0", c)
		}
		tp.Publish(ctx, "", []byte("a"))
		tp.Publish(ctx, "", []byte("b"))
		synctest.Wait()
		if c := calls.Load(); c != 1 {
			t.Fatalf("%d notifications after two publishes, want 1", c)
		}
		if waiting, err := n.Notify(ctx, f); waiting || err != nil {
			t.Fatalf("Notify with entries to read = %v, %v, want false, nil", waiting, err)
		}
		for _, want := range []Seq{1, 2} {
			if e, ok, err := n.TryNext(ctx); !ok || err != nil || e.Seq != want {
				t.Fatalf("TryNext = %d, %v, %v, want %d, true, nil", e.Seq, ok, err, want)
			}
		}
		if _, ok, _ := n.TryNext(ctx); ok {
			t.Fatal("TryNext after reading everything: ok true, want false")
		}
		// Closing the topic notifies; TryNext then returns ErrClosed.
		if waiting, _ := n.Notify(ctx, f); !waiting {
			t.Fatal("Notify at the head = false, want true")
		}
		tp.Close()
		synctest.Wait()
		if c := calls.Load(); c != 2 {
			t.Fatalf("%d notifications after the topic's Close, want 2", c)
		}
		if _, ok, err := n.TryNext(ctx); !ok || !errors.Is(err, ErrClosed) {
			t.Fatalf("TryNext on a closed topic = %v, %v, want true, ErrClosed", ok, err)
		}
		if waiting, _ := n.Notify(ctx, f); waiting {
			t.Fatal("Notify on a closed topic = true, want false")
		}
	})
}

// TestNotifyCloseCancels: closing a subscription cancels its pending
// notification, and takes it out of the topic's list of waiters.
func TestNotifyCloseCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		tp := NewTopic(nil)
		var calls atomic.Int32
		var subs []Subscription
		for range 3 {
			sub, _ := tp.Subscribe(ctx, FromNow())
			sub.(Notifier).Notify(ctx, func() { calls.Add(1) })
			subs = append(subs, sub)
		}
		subs[1].Close() // the middle of the list
		subs[0].Close() // its head
		tp.Publish(ctx, "", nil)
		synctest.Wait()
		if c := calls.Load(); c != 1 {
			t.Fatalf("%d notifications, want 1 (two of three subscriptions closed)", c)
		}
		tp.mu.RLock()
		head := tp.waiters.head
		tp.mu.RUnlock()
		if head != nil {
			t.Error("the topic's list of waiters is not empty after the publish")
		}
		subs[2].Close()
	})
}

// TestNotifyGapAndReset: a subscriber waiting through Notify is told about
// entries it lost and about a cursor from another history, as Next tells.
func TestNotifyGapAndReset(t *testing.T) {
	ctx := context.Background()
	tp := NewTopic(&TopicOptions{Epoch: "e1", MaxEntries: 2})
	sub, _ := tp.Subscribe(ctx, After(0))
	publishSizes(t, tp, "", 1, 1, 1, 1) // 1 and 2 dropped
	var gap GapError
	if _, err := notifyNext(ctx, sub); !errors.As(err, &gap) || gap != (GapError{After: 0, Oldest: 3, Lost: 2}) {
		t.Fatalf("first read = %v, want the gap of entries 1 and 2", err)
	}
	for _, want := range []Seq{3, 4} {
		if e, err := notifyNext(ctx, sub); err != nil || e.Seq != want {
			t.Fatalf("read = %d, %v, want %d", e.Seq, err, want)
		}
	}
	other, _ := tp.Subscribe(ctx, AfterIn("e0", 7))
	var reset ResetError
	if _, err := notifyNext(ctx, other); !errors.As(err, &reset) || reset.Epoch != "e1" {
		t.Fatalf("read from another epoch = %v, want a ResetError to e1", err)
	}
}

// TestNotifyManyExactlyOnce: subscribers that read only through TryNext
// and Notify, from callbacks (no goroutine waits for them), each get every
// entry of concurrent publishers exactly once and in order.
func TestNotifyManyExactlyOnce(t *testing.T) {
	const (
		subscribers  = 200
		publishers   = 4
		perPublisher = 250
		total        = publishers * perPublisher
	)
	ctx := context.Background()
	tp := NewTopic(&TopicOptions{MaxEntries: total})
	type reader struct {
		sub  Notifier
		mu   sync.Mutex
		busy bool
		got  []Seq
		err  error
		run  func()
	}
	var done sync.WaitGroup
	readers := make([]*reader, subscribers)
	for i := range readers {
		sub, _ := tp.Subscribe(ctx, After(0))
		r := &reader{sub: sub.(Notifier)}
		done.Add(1)
		var drain func()
		drain = func() {
			for {
				e, ok, err := r.sub.TryNext(ctx)
				if !ok {
					waiting, err := r.sub.Notify(ctx, r.run)
					if err != nil {
						r.err = err
						done.Done()
						return
					}
					if waiting {
						return
					}
					continue
				}
				if err != nil {
					r.err = err
					done.Done()
					return
				}
				r.got = append(r.got, e.Seq)
				if e.Seq == total {
					done.Done()
					return
				}
			}
		}
		// The notification starts the drain on a goroutine of its own, as
		// a transport does; the drain ends when it waits again.
		r.run = func() { go drain() }
		readers[i] = r
		drain()
	}
	var pubs sync.WaitGroup
	for range publishers {
		pubs.Go(func() {
			for range perPublisher {
				if _, err := tp.Publish(ctx, "", nil); err != nil {
					t.Errorf("Publish = %v", err)
				}
			}
		})
	}
	pubs.Wait()
	waitTimeout(t, &done, time.Minute)
	for i, r := range readers {
		if r.err != nil {
			t.Fatalf("reader %d: %v", i, r.err)
		}
		if len(r.got) != total {
			t.Fatalf("reader %d got %d entries, want %d", i, len(r.got), total)
		}
		for k, s := range r.got {
			if s != Seq(k+1) {
				t.Fatalf("reader %d: entry #%d is %d, want %d", i, k, s, k+1)
			}
		}
		r.sub.Close()
	}
	tp.Close()
}

// waitTimeout waits for wg, failing the test after d.
func waitTimeout(t *testing.T, wg *sync.WaitGroup, d time.Duration) {
	t.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("readers not done after %v", d)
	}
}

// TestNotifyAllocs: waiting through Notify allocates nothing, and a publish
// that wakes any number of such subscribers allocates only the payload
// copy: the list of waiters is taken in one step and the waker starts
// without allocating.
func TestNotifyAllocs(t *testing.T) {
	var got []float64
	for _, subs := range []int{1, 10, 200} {
		synctest.Test(t, func(t *testing.T) {
			ctx := context.Background()
			tp := NewTopic(nil)
			for range defaultMaxEntries {
				tp.Publish(ctx, "", nil) // fill the ring so that it does not grow
			}
			for range subs {
				sub, _ := tp.Subscribe(ctx, FromNow())
				n := sub.(Notifier)
				var f func()
				f = func() {
					for {
						if _, ok, err := n.TryNext(ctx); err != nil {
							return
						} else if ok {
							continue
						}
						if waiting, _ := n.Notify(ctx, f); waiting {
							return
						}
					}
				}
				f()
			}
			data := make([]byte, 64)
			allocs := testing.AllocsPerRun(100, func() {
				tp.Publish(ctx, "", data)
				synctest.Wait() // every subscriber read it and waits again
			})
			got = append(got, allocs)
			tp.Close()
			synctest.Wait()
		})
	}
	for i, a := range got {
		if a != 1 {
			t.Errorf("Publish with Notify subscribers (run %d): %v allocations per publish, want 1 (the payload copy) for every count, all runs: %v", i, a, got)
		}
	}
}

// flakyEngine is a MemoryEngine whose logs fail every Read and Bounds with
// ErrUnavailable while fail is set.
type flakyEngine struct {
	*MemoryEngine
	fail *atomic.Bool
}

func (e flakyEngine) Open(ctx context.Context, topic string, limits Limits) (EngineLog, error) {
	l, err := e.MemoryEngine.Open(ctx, topic, limits)
	if err != nil {
		return nil, err
	}
	return flakyLog{l, e.fail}, nil
}

type flakyLog struct {
	EngineLog
	fail *atomic.Bool
}

func (l flakyLog) Read(ctx context.Context, after Seq, buf []Entry) (int, Bounds, error) {
	if l.fail.Load() {
		return 0, Bounds{}, ErrUnavailable
	}
	return l.EngineLog.Read(ctx, after, buf)
}

func (l flakyLog) Bounds(ctx context.Context) (Bounds, error) {
	if l.fail.Load() {
		return Bounds{}, ErrUnavailable
	}
	return l.EngineLog.Bounds(ctx)
}

// TestNotifyEngine: a subscriber of an engine-backed topic whose cursor is
// older than the node's ring reads the engine through TryNext, in batches,
// then waits at the head through Notify; while the engine cannot be
// reached, Notify retries after a back-off instead of failing.
func TestNotifyEngine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var fail atomic.Bool
	eng := flakyEngine{NewMemoryEngine(), &fail}
	defer eng.Close()
	// Node a made the log with room for 100 entries; node b keeps only 4
	// in its ring, so older cursors are answered by the engine.
	a, err := OpenTopic(ctx, eng, "t", &TopicOptions{MaxEntries: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for range 50 {
		if _, err := a.Publish(ctx, "", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	b, err := OpenTopic(ctx, eng, "t", &TopicOptions{MaxEntries: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sub, _ := b.Subscribe(ctx, After(0))
	defer sub.Close()
	for want := Seq(1); want <= 50; want++ {
		if e, err := notifyNext(ctx, sub); err != nil || e.Seq != want {
			t.Fatalf("read = %d, %v, want %d", e.Seq, err, want)
		}
	}
	// At the head: the next publish arrives through the tail and Notify.
	go a.Publish(ctx, "", []byte("51"))
	if e, err := notifyNext(ctx, sub); err != nil || e.Seq != 51 {
		t.Fatalf("read at the head = %d, %v, want 51", e.Seq, err)
	}

	// Notify before any read, from the oldest entry: only the engine
	// knows what that is, and it has entries.
	oldest, _ := b.Subscribe(ctx, FromOldest())
	defer oldest.Close()
	if waiting, err := oldest.(Notifier).Notify(ctx, func() {}); waiting || err != nil {
		t.Fatalf("Notify from the oldest entry = %v, %v, want false, nil (entries to read)", waiting, err)
	}
	if e, err := notifyNext(ctx, oldest); err != nil || e.Seq != 1 {
		t.Fatalf("read from the oldest entry = %d, %v, want 1", e.Seq, err)
	}

	// A new subscriber from the start while the engine fails: no entry,
	// no error, a notification after the back-off; then the entries.
	late, _ := b.Subscribe(ctx, After(0))
	defer late.Close()
	n := late.(Notifier)
	fail.Store(true)
	if _, ok, err := n.TryNext(ctx); ok {
		t.Fatalf("TryNext with the engine down = ok, %v; want nothing yet", err)
	}
	woken := make(chan struct{}, 1)
	if waiting, err := n.Notify(ctx, func() { woken <- struct{}{} }); !waiting || err != nil {
		t.Fatalf("Notify with the engine down = %v, %v, want true, nil (a retry)", waiting, err)
	}
	fail.Store(false)
	select {
	case <-woken:
	case <-ctx.Done():
		t.Fatal("no notification to retry the engine")
	}
	if e, err := notifyNext(ctx, late); err != nil || e.Seq != 1 {
		t.Fatalf("read after the engine came back = %d, %v, want 1", e.Seq, err)
	}
}

// TestSubscriberSize: what a subscription of an in-memory topic holds while
// it waits through Notify is one 144-byte subscriber (with the allocator's
// size classes); what only engine-backed topics need is made on demand.
func TestSubscriberSize(t *testing.T) {
	if size := unsafe.Sizeof(subscriber{}); size > 144 {
		t.Errorf("subscriber is %d bytes, want at most 144", size)
	}
	tp := NewTopic(nil)
	defer tp.Close()
	s, err := tp.Subscribe(context.Background(), FromNow())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if waiting, err := s.(Notifier).Notify(context.Background(), func() {}); !waiting || err != nil {
		t.Fatalf("Notify = %v, %v; want waiting", waiting, err)
	}
	if e, ok, err := s.(Notifier).TryNext(context.Background()); ok || err != nil {
		t.Fatalf("TryNext = %v, %v, %v; want nothing", e, ok, err)
	}
	if sub := s.(*subscriber); sub.eng != nil {
		t.Errorf("a subscriber of an in-memory topic made its engine part")
	}
}
