package hub

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestOrderingExactlyOnce runs many publishers at once and readers of every
// kind from various cursors, and checks that each reader gets every entry
// after its cursor exactly once, in order, with the payload that was
// published under that sequence number.
func TestOrderingExactlyOnce(t *testing.T) {
	const (
		publishers   = 8
		perPublisher = 400
		total        = publishers * perPublisher
		mid          = total / 2
	)
	tp := NewTopic(&TopicOptions{MaxEntries: total, MaxBytes: total * 4})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // safety net only
	defer cancel()

	type result struct {
		name  string
		first Seq // first sequence number the reader must get
		got   []Entry
		err   error
	}
	var (
		mu      sync.Mutex
		results []*result
		readers sync.WaitGroup
	)
	start := func(name string, first Seq, read func() ([]Entry, error)) {
		readers.Go(func() {
			got, err := read()
			mu.Lock()
			results = append(results, &result{name, first, got, err})
			mu.Unlock()
		})
	}
	readSub := func(sub Subscription) ([]Entry, error) {
		var got []Entry
		for {
			e, err := sub.Next(ctx)
			if err != nil {
				return got, err
			}
			got = append(got, e)
			if e.Seq == total {
				return got, nil
			}
		}
	}
	readPoll := func(c Cursor) ([]Entry, error) {
		var got []Entry
		buf := make([]Entry, 7)
		for {
			n, next, err := tp.ReadAfter(ctx, c, buf)
			if err != nil {
				return got, err
			}
			got = append(got, buf[:n]...)
			if n > 0 && buf[n-1].Seq == total {
				return got, nil
			}
			c = next
			if n == 0 {
				if err := tp.Wait(ctx, c); err != nil {
					return got, err
				}
			}
		}
	}

	// Readers that exist before the first publish.
	for _, c := range []Cursor{FromNow(), After(0), FromOldest()} {
		sub, _ := tp.Subscribe(ctx, c)
		start(fmt.Sprintf("subscribe %q", c), 1, func() ([]Entry, error) { return readSub(sub) })
	}
	// A reader without a goroutine waiting in Next: TryNext and Notify.
	notified, _ := tp.Subscribe(ctx, After(0))
	start("subscribe, read through Notify", 1, func() ([]Entry, error) {
		var got []Entry
		for {
			e, err := notifyNext(ctx, notified)
			if err != nil {
				return got, err
			}
			got = append(got, e)
			if e.Seq == total {
				return got, nil
			}
		}
	})
	_, now, _ := tp.ReadAfter(ctx, FromNow(), nil)
	start("long poll from now", 1, func() ([]Entry, error) { return readPoll(now) })

	// Readers that join half way, from a cursor in the past.
	waitHead := func(ctx context.Context, tp *Topic, seq Seq) error {
		for {
			_, c, _ := tp.ReadAfter(ctx, FromNow(), nil)
			if head, _ := c.Seq(); head >= seq {
				return nil
			}
			if err := tp.Wait(ctx, c); err != nil {
				return err
			}
		}
	}
	start("subscribe half way", mid+1, func() ([]Entry, error) {
		if err := waitHead(ctx, tp, mid); err != nil {
			return nil, err
		}
		sub, _ := tp.Subscribe(ctx, After(mid))
		return readSub(sub)
	})
	start("long poll half way", mid+1, func() ([]Entry, error) {
		if err := waitHead(ctx, tp, mid); err != nil {
			return nil, err
		}
		return readPoll(After(mid))
	})

	// One subscription shared by several goroutines: together they must
	// get every entry once.
	shared, _ := tp.Subscribe(ctx, After(0))
	var sharedMu sync.Mutex
	var sharedGot []Entry
	var sharedWG sync.WaitGroup
	for range 4 {
		sharedWG.Go(func() {
			var got []Entry
			for {
				e, err := shared.Next(ctx)
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Errorf("shared Next = %v, want entries then %v", err, ErrClosed)
					}
					break
				}
				if len(got) > 0 && e.Seq <= got[len(got)-1].Seq {
					t.Errorf("shared Next returned %d after %d to one goroutine", e.Seq, got[len(got)-1].Seq)
				}
				got = append(got, e)
				if e.Seq == total {
					shared.Close()
				}
			}
			sharedMu.Lock()
			sharedGot = append(sharedGot, got...)
			sharedMu.Unlock()
		})
	}

	// The publishers. Each payload names its publisher and index.
	var pubSeq [publishers][perPublisher]Seq
	var pubs sync.WaitGroup
	for p := range publishers {
		pubs.Go(func() {
			for i := range perPublisher {
				var data [4]byte
				binary.BigEndian.PutUint16(data[0:], uint16(p))
				binary.BigEndian.PutUint16(data[2:], uint16(i))
				seq, err := tp.Publish(ctx, "", data[:])
				if err != nil {
					t.Errorf("Publish = %v", err)
					return
				}
				pubSeq[p][i] = seq
			}
		})
	}
	pubs.Wait()
	readers.Wait()
	sharedWG.Wait()
	tp.Close()

	// Every sequence number from 1 to total was given out once, and each
	// publisher's entries got increasing numbers.
	owner := make(map[Seq][2]int, total)
	for p := range publishers {
		for i := range perPublisher {
			seq := pubSeq[p][i]
			if _, dup := owner[seq]; dup || seq < 1 || seq > total {
				t.Fatalf("Publish returned %d twice or out of 1..%d", seq, total)
			}
			owner[seq] = [2]int{p, i}
			if i > 0 && seq <= pubSeq[p][i-1] {
				t.Errorf("publisher %d: entry %d got %d after %d", p, i, seq, pubSeq[p][i-1])
			}
		}
	}
	check := func(name string, first Seq, got []Entry) {
		if len(got) != int(total-first+1) {
			t.Errorf("%s: got %d entries, want %d", name, len(got), total-first+1)
		}
		for k, e := range got {
			if want := first + Seq(k); e.Seq != want {
				t.Errorf("%s: entry #%d has Seq %d, want %d", name, k, e.Seq, want)
				return
			}
			p := int(binary.BigEndian.Uint16(e.Data[0:]))
			i := int(binary.BigEndian.Uint16(e.Data[2:]))
			if owner[e.Seq] != [2]int{p, i} {
				t.Errorf("%s: entry %d carries publisher %d index %d, want %v", name, e.Seq, p, i, owner[e.Seq])
				return
			}
		}
	}
	if len(results) != 7 {
		t.Fatalf("%d readers finished, want 7", len(results))
	}
	for _, r := range results {
		if r.err != nil {
			t.Errorf("%s: %v", r.name, r.err)
		}
		check(r.name, r.first, r.got)
	}
	// Sort the shared subscription's entries by Seq: each went to one
	// goroutine.
	sorted := make([]Entry, total)
	for _, e := range sharedGot {
		if e.Seq < 1 || e.Seq > total || sorted[e.Seq-1].Seq != 0 {
			t.Fatalf("shared subscription: entry %d delivered twice or out of range", e.Seq)
		}
		sorted[e.Seq-1] = e
	}
	check("shared subscription", 1, sorted)
}

// TestSlowSubscriber checks by delivery counts, not time, that a subscriber
// that does not read delays neither the publisher nor a fast subscriber,
// and what each policy does to it afterwards.
func TestSlowSubscriber(t *testing.T) {
	const n = 500
	tests := []struct {
		name string
		opts TopicOptions
		// what the slow subscriber gets when it finally reads
		wantGap   *GapError
		wantFirst Seq   // first entry it then reads up to n
		wantErr   error // or the error it gets instead
	}{
		{name: "reread catches up", opts: TopicOptions{MaxEntries: 1000}, wantFirst: 1},
		{
			name: "reread gap by count", opts: TopicOptions{MaxEntries: 100},
			wantGap: &GapError{After: 0, Oldest: 401, Lost: 400}, wantFirst: 401,
		},
		{
			name: "reread gap by bytes", opts: TopicOptions{MaxBytes: 40 * 8},
			wantGap: &GapError{After: 0, Oldest: 461, Lost: 460}, wantFirst: 461,
		},
		{name: "drop", opts: TopicOptions{MaxEntries: 1000, Policy: Drop, QueueLen: 10}, wantErr: ErrSlowConsumer},
		{name: "drop within queue length", opts: TopicOptions{MaxEntries: 1000, Policy: Drop, QueueLen: n}, wantFirst: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // safety net only
			defer cancel()
			tp := NewTopic(&tt.opts)
			fast, _ := tp.Subscribe(ctx, FromNow())
			slow, _ := tp.Subscribe(ctx, FromNow())

			// The fast subscriber acknowledges each entry before the next
			// is published, so that it never lags, whatever the policy.
			acks := make(chan Seq)
			var fastErr error
			var wg sync.WaitGroup
			wg.Go(func() {
				defer close(acks)
				for range n {
					e, err := fast.Next(ctx)
					if err != nil {
						fastErr = err
						return
					}
					acks <- e.Seq
				}
			})
			fastGot := 0
			for i := range n {
				seq, err := tp.Publish(ctx, "", make([]byte, 8))
				if err != nil {
					t.Fatalf("Publish #%d = %v", i+1, err)
				}
				if got, ok := <-acks; !ok || got != seq {
					t.Fatalf("fast subscriber acknowledged %d, %v (error %v), want %d", got, ok, fastErr, seq)
				}
				fastGot++
			}
			wg.Wait()
			// The slow subscriber has read nothing so far.
			if fastGot != n {
				t.Fatalf("fast subscriber got %d entries while the slow one read none, want %d", fastGot, n)
			}

			e, err := slow.Next(ctx)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("slow Next = %d, %v, want %v", e.Seq, err, tt.wantErr)
				}
				if _, again := slow.Next(ctx); !errors.Is(again, tt.wantErr) {
					t.Errorf("slow Next after %v = %v, want %v again", err, again, tt.wantErr)
				}
				return
			case tt.wantGap != nil:
				var gap GapError
				if !errors.As(err, &gap) || gap != *tt.wantGap {
					t.Fatalf("slow Next = %d, %v, want %v", e.Seq, err, *tt.wantGap)
				}
				e, err = slow.Next(ctx)
			}
			for want := tt.wantFirst; want <= n; want++ {
				if err != nil || e.Seq != want {
					t.Fatalf("slow Next = %d, %v, want %d, nil", e.Seq, err, want)
				}
				if want < n {
					e, err = slow.Next(ctx)
				}
			}
			// Caught up: the next Next would block; a done ctx shows it.
			done, stop := context.WithCancel(ctx)
			stop()
			if _, err := slow.Next(done); !errors.Is(err, context.Canceled) {
				t.Errorf("slow Next after catching up = %v, want %v", err, context.Canceled)
			}
		})
	}
}

// TestDropQueueLen checks the boundary of the Drop policy: QueueLen unread
// entries published after subscribing are fine, one more drops the
// subscriber; a replay from an older cursor does not count.
func TestDropQueueLen(t *testing.T) {
	tests := []struct {
		name   string
		before int    // entries published before subscribing
		cursor Cursor // subscription cursor
		read   int    // entries read before the burst
		burst  int    // entries published after that
		err    error  // what the next Next returns
	}{
		{name: "queue full", cursor: FromNow(), burst: 3},
		{name: "queue overflow", cursor: FromNow(), burst: 4, err: ErrSlowConsumer},
		{name: "replay does not count", before: 10, cursor: After(0), burst: 0},
		{name: "replay plus full queue", before: 10, cursor: After(0), read: 2, burst: 3},
		{name: "replay plus overflow", before: 10, cursor: After(0), read: 2, burst: 4, err: ErrSlowConsumer},
		{name: "from oldest plus overflow", before: 10, cursor: FromOldest(), burst: 4, err: ErrSlowConsumer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			tp := NewTopic(&TopicOptions{Policy: Drop, QueueLen: 3})
			publishSizes(t, tp, "", repeat(1, tt.before)...)
			sub, _ := tp.Subscribe(ctx, tt.cursor)
			for range tt.read {
				if _, err := sub.Next(ctx); err != nil {
					t.Fatalf("Next = %v, want nil", err)
				}
			}
			publishSizes(t, tp, "", repeat(1, tt.burst)...)
			_, err := sub.Next(ctx)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Errorf("Next = %v, want %v", err, tt.err)
			}
		})
	}
}

// TestSubscriptionGap checks that a subscription reports a gap once and
// then continues from the oldest entry held.
func TestSubscriptionGap(t *testing.T) {
	ctx := context.Background()
	tp := NewTopic(&TopicOptions{MaxEntries: 4})
	publishSizes(t, tp, "", 1, 1)
	sub, _ := tp.Subscribe(ctx, After(1))
	publishSizes(t, tp, "", repeat(1, 8)...) // holds 7..10
	want := GapError{After: 1, Oldest: 7, Lost: 5}
	var gap GapError
	if _, err := sub.Next(ctx); !errors.As(err, &gap) || gap != want {
		t.Fatalf("Next = %v, want %v", err, want)
	}
	for s := Seq(7); s <= 10; s++ {
		if e, err := sub.Next(ctx); err != nil || e.Seq != s {
			t.Fatalf("Next after gap = %d, %v, want %d, nil", e.Seq, err, s)
		}
	}
}

func TestSubscriptionAhead(t *testing.T) {
	ctx := context.Background()
	tp := NewTopic(nil)
	publishSizes(t, tp, "", 1, 1)
	sub, _ := tp.Subscribe(ctx, After(5))
	// One reset to the start of the log, then its entries.
	var reset ResetError
	if _, err := sub.Next(ctx); !errors.As(err, &reset) || reset.After != 0 || reset.Epoch != tp.Epoch() || reset.From != After(5) {
		t.Fatalf("Next with cursor 5 of 2 = %v, want a ResetError after 0 in %q", err, tp.Epoch())
	}
	for s := Seq(1); s <= 2; s++ {
		if e, err := sub.Next(ctx); err != nil || e.Seq != s {
			t.Fatalf("Next after reset = %d, %v, want %d, nil", e.Seq, err, s)
		}
	}
}

func TestNextContext(t *testing.T) {
	tests := []struct {
		name string
		stop func(cancel context.CancelFunc, sub Subscription)
		err  error
	}{
		{"cancel", func(cancel context.CancelFunc, _ Subscription) { cancel() }, context.Canceled},
		{"deadline", func(context.CancelFunc, Subscription) { time.Sleep(time.Hour) }, context.DeadlineExceeded},
		{"subscription closed", func(_ context.CancelFunc, sub Subscription) { sub.Close() }, ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tp := NewTopic(nil)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				sub, _ := tp.Subscribe(ctx, FromNow())
				errc := make(chan error, 1)
				go func() {
					_, err := sub.Next(ctx)
					errc <- err
				}()
				synctest.Wait()
				if len(errc) != 0 {
					t.Fatalf("Next returned %v with nothing published, want it to block", <-errc)
				}
				tt.stop(cancel, sub)
				if err := <-errc; !errors.Is(err, tt.err) {
					t.Errorf("blocked Next = %v, want %v", err, tt.err)
				}
				// The subscription and topic still work, as far as they
				// are open.
				publishSizes(t, tp, "", 1)
				e, err := sub.Next(context.Background())
				if tt.err == ErrClosed {
					if !errors.Is(err, ErrClosed) {
						t.Errorf("Next after Close = %v, want %v", err, ErrClosed)
					}
				} else if err != nil || e.Seq != 1 {
					t.Errorf("Next after %v = %d, %v, want 1, nil", tt.err, e.Seq, err)
				}
			})
		})
	}
}

func TestSubscriptionCloseTwice(t *testing.T) {
	tp := NewTopic(nil)
	sub, _ := tp.Subscribe(context.Background(), After(0))
	for range 2 {
		if err := sub.Close(); err != nil {
			t.Errorf("Close() = %v, want nil", err)
		}
	}
}

func TestReadAllocs(t *testing.T) {
	ctx := context.Background()
	tp := NewTopic(nil)
	for range defaultMaxEntries {
		tp.Publish(ctx, "message", make([]byte, 64))
	}
	buf := make([]Entry, 16)
	tests := []struct {
		name string
		f    func()
	}{
		{"ReadAfter", func() { tp.ReadAfter(ctx, After(500), buf) }},
		{"ReadAfter gap-free oldest", func() { tp.ReadAfter(ctx, FromOldest(), buf) }},
		{"Wait with entries", func() { tp.Wait(ctx, After(500)) }},
	}
	sub, _ := tp.Subscribe(ctx, After(0))
	tests = append(tests, struct {
		name string
		f    func()
	}{"Next", func() { sub.Next(ctx) }})
	for _, tt := range tests {
		if got := testing.AllocsPerRun(500, tt.f); got != 0 {
			t.Errorf("%s: %v allocations per call, want 0", tt.name, got)
		}
	}
}

func TestPublishAllocs(t *testing.T) {
	ctx := context.Background()
	tp := NewTopic(nil)
	for range defaultMaxEntries {
		tp.Publish(ctx, "", nil) // fill the ring so that it does not grow
	}
	data := make([]byte, 64)
	if got := testing.AllocsPerRun(500, func() { tp.Publish(ctx, "message", data) }); got != 1 {
		t.Errorf("Publish(64 bytes): %v allocations, want 1 (the payload copy)", got)
	}
	if got := testing.AllocsPerRun(500, func() { tp.Publish(ctx, "message", nil) }); got != 0 {
		t.Errorf("Publish(no payload): %v allocations, want 0", got)
	}
}

// TestPublishAllocsIndependentOfSubscribers checks that the allocations of
// a publish, counting those of the subscribers it wakes, do not grow with
// the number of subscribers.
func TestPublishAllocsIndependentOfSubscribers(t *testing.T) {
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
				go func() {
					for {
						if _, err := sub.Next(ctx); err != nil {
							return
						}
					}
				}()
			}
			synctest.Wait()
			data := make([]byte, 64)
			allocs := testing.AllocsPerRun(100, func() {
				tp.Publish(ctx, "", data)
				synctest.Wait() // every subscriber read it and waits again
			})
			got = append(got, allocs)
			tp.Close()
		})
	}
	// The payload copy and one shared wake-up channel.
	for i, a := range got {
		if a != 2 {
			t.Errorf("Publish with subscribers (run %d): %v allocations per publish, want 2 for every count, all runs: %v", i, a, got)
		}
	}
}
