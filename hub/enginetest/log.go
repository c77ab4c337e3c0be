package enginetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
)

// The cases of one log's contract: gaps after trimming, idempotent
// retries, the size limit, and waiting for entries.

// gaps: a log bounded to 10 entries, 25 appended; a reader after 3 is told
// that 12 are lost and goes on from 16, on the raw log and through a hub
// topic on another node.
func (s *suite) gaps(t *testing.T) {
	ctx := ctxFor(t, time.Minute)
	a, b := s.node(t), s.node(t)
	name := s.topic(t)
	l := hub.Limits{MaxEntries: 10}
	la := open(t, ctx, a, name, l)
	appendN(t, ctx, la, 1, 25)
	lb := open(t, ctx, b, name, l)
	buf := make([]hub.Entry, 4)
	n, bd, err := lb.Read(ctx, 3, buf)
	if err != nil || bd.First != 16 || bd.Last != 25 || n != 4 || buf[0].Seq != 16 {
		t.Fatalf("Read(3) = %d entries from %d, %+v, %v; want 4 from 16, First 16, Last 25", n, buf[0].Seq, bd, err)
	}
	tp := openTopic(t, ctx, b, name, &hub.TopicOptions{MaxEntries: 10})
	want := hub.GapError{After: 3, Oldest: 16, Lost: 12}
	_, next, err := tp.ReadAfter(ctx, hub.AfterIn(bd.Epoch, 3), buf)
	var gap hub.GapError
	if !errors.As(err, &gap) || gap != want || next != hub.AfterIn(bd.Epoch, 15) {
		t.Fatalf("ReadAfter(3) = %q, %v, want %q, %v", next, err, hub.AfterIn(bd.Epoch, 15), want)
	}
	sub, err := tp.Subscribe(ctx, hub.AfterIn(bd.Epoch, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := sub.Next(ctx); !errors.As(err, &gap) || gap != want {
		t.Fatalf("Next from 3 = %v, want %v", err, want)
	}
	for s := hub.Seq(16); s <= 25; s++ {
		if e, err := sub.Next(ctx); err != nil || e.Seq != s {
			t.Fatalf("Next after the gap = %d, %v, want %d", e.Seq, err, s)
		}
	}
	// Trimmed while a reader is in the middle: whatever this node still
	// holds comes in order, and what it lost is a gap with the exact
	// count, up to the last entry.
	appendN(t, ctx, la, 26, 40)
	last := hub.Seq(25)
	for last < 40 {
		e, err := sub.Next(ctx)
		switch {
		case errors.As(err, &gap):
			if gap.After != last || gap.Oldest <= last+1 || gap.Lost != uint64(gap.Oldest-last-1) || gap.Oldest > 31 {
				t.Fatalf("Next at %d = %v, want a gap after %d with its exact count, to 31 at most", last, err, last)
			}
			if e, err = sub.Next(ctx); err != nil || e.Seq != gap.Oldest {
				t.Fatalf("Next after %v = %d, %v, want %d", gap, e.Seq, err, gap.Oldest)
			}
		case err != nil:
			t.Fatalf("Next at %d = %v", last, err)
		case e.Seq != last+1:
			t.Fatalf("Next at %d = entry %d, want %d or a gap", last, e.Seq, last+1)
		}
		last = e.Seq
	}
}

// idempotent: an append retried with the same key appends nothing and
// returns the first one's seq, from the same node or another, even when
// the retries race.
func (s *suite) idempotent(t *testing.T) {
	ctx := ctxFor(t, time.Minute)
	a, b := s.node(t), s.node(t)
	name := s.topic(t)
	la := open(t, ctx, a, name, hub.Limits{})
	lb := open(t, ctx, b, name, hub.Limits{})
	s1, err := la.Append(ctx, "key-1", "", []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	la.Append(ctx, "", "", []byte("other"))
	for _, l := range []hub.EngineLog{la, lb} {
		if s, err := l.Append(ctx, "key-1", "", []byte("one")); s != s1 || err != nil {
			t.Errorf("retried Append = %d, %v, want %d, nil", s, err, s1)
		}
	}
	// Racing retries of one key from both nodes: one entry.
	var wg sync.WaitGroup
	seqs := make([]hub.Seq, 8)
	for i := range seqs {
		l := []hub.EngineLog{la, lb}[i%2]
		wg.Go(func() {
			s, err := l.Append(ctx, "key-2", "", []byte("two"))
			if err != nil {
				t.Errorf("Append(key-2) = %v", err)
			}
			seqs[i] = s
		})
	}
	wg.Wait()
	for _, s := range seqs {
		if s != seqs[0] {
			t.Fatalf("racing retries got seqs %v, want one seq", seqs)
		}
	}
	all, _ := readAll(t, ctx, lb, 0)
	count := map[string]int{}
	for _, e := range all {
		count[string(e.Data)]++
	}
	if len(all) != 3 || count["one"] != 1 || count["two"] != 1 || count["other"] != 1 {
		t.Errorf("log holds %d entries %v, want one, other, two once each", len(all), count)
	}
	// Through a hub topic: Append with a key, retried.
	tp := openTopic(t, ctx, b, name, nil)
	s3, err := tp.Append(ctx, "key-3", "", []byte("three"))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := tp.Append(ctx, "key-3", "", []byte("three")); s != s3 || err != nil {
		t.Errorf("Topic.Append retried = %d, %v, want %d", s, err, s3)
	}
}

// tooLarge: an entry above MaxBytes is refused with ErrTooLarge.
func (s *suite) tooLarge(t *testing.T) {
	ctx := ctxFor(t, time.Minute)
	e := s.node(t)
	el := open(t, ctx, e, s.topic(t), hub.Limits{MaxBytes: 4096})
	if _, err := el.Append(ctx, "", "", make([]byte, 4097)); !errors.Is(err, hub.ErrTooLarge) {
		t.Errorf("Append of 4097 bytes with MaxBytes 4096 = %v, want %v", err, hub.ErrTooLarge)
	}
	if _, err := el.Append(ctx, "", "", make([]byte, 1000)); err != nil {
		t.Errorf("Append of 1000 bytes = %v", err)
	}
}

// wait: Wait blocks until another node appends, and ends with its ctx
// and with its log.
func (s *suite) wait(t *testing.T) {
	ctx := ctxFor(t, time.Minute)
	a, b := s.node(t), s.node(t)
	name := s.topic(t)
	la := open(t, ctx, a, name, hub.Limits{})
	lb := open(t, ctx, b, name, hub.Limits{})
	appendN(t, ctx, la, 1, 2)
	// Something after 1 already: at once.
	if bd, err := lb.Wait(ctx, 1); err != nil || bd.Last != 2 {
		t.Fatalf("Wait(1) = %+v, %v, want Last 2", bd, err)
	}
	done := make(chan hub.Bounds, 1)
	go func() {
		for {
			bd, err := lb.Wait(ctx, 2)
			if err != nil {
				t.Errorf("Wait(2) = %v", err)
				close(done)
				return
			}
			if bd.Last > 2 {
				done <- bd
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	appendN(t, ctx, la, 3, 3)
	select {
	case bd := <-done:
		if bd.Last != 3 {
			t.Errorf("Wait(2) woke with Last %d, want 3", bd.Last)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Wait(2) still blocked 20 s after an append")
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	for {
		_, err := lb.Wait(cctx, 3)
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Wait with an ended ctx = %v, want %v", err, context.DeadlineExceeded)
			}
			break
		}
	}
	// A Wait blocked when its log is closed returns ErrClosed, without
	// waiting for the engine's poll interval (a tail waiting in the
	// engine would hold up Topic.Close).
	closed := make(chan error, 1)
	go func() {
		_, err := lb.Wait(ctx, 1<<40)
		closed <- err
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	lb.Close()
	select {
	case err := <-closed:
		if !errors.Is(err, hub.ErrClosed) {
			t.Errorf("Wait blocked when its log closed = %v, want %v", err, hub.ErrClosed)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("Wait blocked when its log closed returned %v later, want at once", took)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Wait still blocked 20 s after its log closed")
	}
	if _, err := lb.Bounds(ctx); !errors.Is(err, hub.ErrClosed) {
		t.Errorf("Bounds after Close = %v, want %v", err, hub.ErrClosed)
	}
}
