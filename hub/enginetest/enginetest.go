package enginetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
)

// Harness describes an engine to the suite.
type Harness struct {
	// Node returns a new client of the shared store under test, as one
	// more pushwire node would make. The suite closes it. Required.
	Node func(t *testing.T) hub.Engine

	// Restart stops the shared store and starts it again; nodes made
	// before may have to reconnect (the suite makes new ones). Nil skips
	// the restart case.
	Restart func(t *testing.T)

	// Durable says that the store keeps its logs across Restart: the same
	// epoch and every acknowledged entry. When false, a restarted store
	// must start every log in a new epoch.
	Durable bool

	// Wipe deletes every log of the store while nodes are connected to
	// it. Nil skips the wipe case.
	Wipe func(t *testing.T)

	// Scale multiplies the number of entries the heavier cases publish;
	// zero means 1. Engines whose every append is a network round trip
	// under the race detector may pass less than 1.
	Scale float64
}

// Run runs the suite against the engine h describes.
func Run(t *testing.T, h Harness) {
	if h.Node == nil {
		t.Fatal("enginetest: Harness.Node is nil")
	}
	if h.Scale <= 0 {
		h.Scale = 1
	}
	s := &suite{h: h}
	t.Run("Order", s.order)
	t.Run("Names", s.names)
	t.Run("ExactlyOnce", s.exactlyOnce)
	t.Run("Gaps", s.gaps)
	t.Run("IdempotentRetries", s.idempotent)
	t.Run("TooLarge", s.tooLarge)
	t.Run("Wait", s.wait)
	t.Run("Epochs", s.epochs)
	if h.Wipe != nil {
		t.Run("Wipe", s.wipe)
	}
	if h.Restart != nil {
		t.Run("Restart", s.restart)
	}
	t.Run("BoundedMemory", s.boundedMemory)
	t.Run("NoGoroutineLeak", s.noLeak)
}

type suite struct {
	h Harness
	n int // topics made so far
}

// topic returns a fresh topic name with characters engines must map.
func (s *suite) topic(t *testing.T) string {
	s.n++
	return fmt.Sprintf("enginetest/%s #%d: a.b *>\tü", t.Name(), s.n)
}

func (s *suite) scaled(n int) int {
	return max(1, int(float64(n)*s.h.Scale))
}

// node returns a new node, closed when the test ends.
func (s *suite) node(t *testing.T) hub.Engine {
	t.Helper()
	e := s.h.Node(t)
	t.Cleanup(func() { e.Close() })
	return e
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// open opens a log, closed when the test ends.
func open(t *testing.T, ctx context.Context, e hub.Engine, name string, l hub.Limits) hub.EngineLog {
	t.Helper()
	el, err := e.Open(ctx, name, l)
	if err != nil {
		t.Fatalf("Open(%q) = %v", name, err)
	}
	t.Cleanup(func() { el.Close() })
	return el
}

// openTopic opens a hub topic in front of the engine, closed when the test
// ends.
func openTopic(t *testing.T, ctx context.Context, e hub.Engine, name string, opts *hub.TopicOptions) *hub.Topic {
	t.Helper()
	tp, err := hub.OpenTopic(ctx, e, name, opts)
	if err != nil {
		t.Fatalf("OpenTopic(%q) = %v", name, err)
	}
	t.Cleanup(func() { tp.Close() })
	return tp
}

func appendN(t *testing.T, ctx context.Context, el hub.EngineLog, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		seq, err := el.Append(ctx, "", "", fmt.Appendf(nil, "entry %d", i))
		if err != nil {
			t.Fatalf("Append(entry %d) = %v", i, err)
		}
		if seq != hub.Seq(i) {
			t.Fatalf("Append(entry %d) = seq %d, want %d", i, seq, i)
		}
	}
}

// readAll reads the whole log after after through Read.
func readAll(t *testing.T, ctx context.Context, el hub.EngineLog, after hub.Seq) ([]hub.Entry, hub.Bounds) {
	t.Helper()
	var all []hub.Entry
	buf := make([]hub.Entry, 100)
	var b hub.Bounds
	for {
		n, bb, err := el.Read(ctx, after, buf)
		if err != nil {
			t.Fatalf("Read(%d) = %v", after, err)
		}
		b = bb
		if n == 0 {
			return all, b
		}
		for _, e := range buf[:n] {
			if e.Seq <= after {
				t.Fatalf("Read(%d) returned entry %d", after, e.Seq)
			}
			if len(all) > 0 && e.Seq != all[len(all)-1].Seq+1 {
				t.Fatalf("Read(%d) returned entry %d after %d: a hole", after, e.Seq, all[len(all)-1].Seq)
			}
			all = append(all, e)
		}
		after = buf[n-1].Seq
	}
}

// order: sequence numbers 1, 2, 3, ... in append order, the same entries
// read back by another node, bounds that match.
func (s *suite) order(t *testing.T) {
	ctx := ctxFor(t, time.Minute)
	a, b := s.node(t), s.node(t)
	name := s.topic(t)
	la := open(t, ctx, a, name, hub.Limits{})
	lb := open(t, ctx, b, name, hub.Limits{})
	bd, err := lb.Bounds(ctx)
	if err != nil || !bd.Epoch.Valid() || bd.First != 1 || bd.Last != 0 {
		t.Fatalf("Bounds of a new log = %+v, %v, want a valid epoch, First 1, Last 0", bd, err)
	}
	n := s.scaled(100)
	for i := 1; i <= n; i++ {
		typ := ""
		if i%3 == 0 {
			typ = "t" + fmt.Sprint(i)
		}
		seq, err := la.Append(ctx, "", typ, fmt.Appendf(nil, "entry %d", i))
		if err != nil || seq != hub.Seq(i) {
			t.Fatalf("Append #%d = %d, %v, want %d, nil", i, seq, err, i)
		}
	}
	all, bounds := readAll(t, ctx, lb, 0)
	if len(all) != n {
		t.Fatalf("node b read %d entries, want %d", len(all), n)
	}
	for i, e := range all {
		want := fmt.Sprintf("entry %d", i+1)
		wantType := ""
		if (i+1)%3 == 0 {
			wantType = "t" + fmt.Sprint(i+1)
		}
		if e.Seq != hub.Seq(i+1) || string(e.Data) != want || e.Type != wantType {
			t.Fatalf("entry %d = {%d %q %q}, want {%d %q %q}", i, e.Seq, e.Type, e.Data, i+1, wantType, want)
		}
	}
	if bounds.Epoch != bd.Epoch || bounds.Last != hub.Seq(n) {
		t.Errorf("Read's bounds after %d appends = %+v, want epoch %q, Last %d", n, bounds, bd.Epoch, n)
	}
	if bounds, err = la.Bounds(ctx); err != nil || bounds.Epoch != bd.Epoch || bounds.First != 1 || bounds.Last != hub.Seq(n) {
		t.Errorf("Bounds after %d appends = %+v, %v, want epoch %q, First 1, Last %d", n, bounds, err, bd.Epoch, n)
	}
	// A read from the middle, and one at the end.
	buf := make([]hub.Entry, 5)
	k, _, err := lb.Read(ctx, hub.Seq(n-3), buf)
	if err != nil || k != 3 || buf[0].Seq != hub.Seq(n-2) {
		t.Errorf("Read(%d) = %d entries from %d, %v, want 3 from %d", n-3, k, buf[0].Seq, err, n-2)
	}
	if k, _, err := lb.Read(ctx, hub.Seq(n), buf); k != 0 || err != nil {
		t.Errorf("Read(last) = %d, %v, want 0, nil", k, err)
	}
	// An empty payload reads back empty.
	seq, err := la.Append(ctx, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if k, _, err := lb.Read(ctx, seq-1, buf); err != nil || k != 1 || len(buf[0].Data) != 0 {
		t.Errorf("empty entry read back as %d entries, %q, %v", k, buf[0].Data, err)
	}
}

// names: topics whose names differ only in characters an engine must map
// are separate logs.
func (s *suite) names(t *testing.T) {
	ctx := ctxFor(t, time.Minute)
	e := s.node(t)
	long := strings.Repeat("x", 300)
	names := []string{"a.b", "a_b", "a-b", "A.b", "a b", "a/b", "a*b", "a>b", "a:b", "", "ü", "u", long + "1", long + "2", "\x00", "$JS.API"}
	for i, name := range names {
		el := open(t, ctx, e, name, hub.Limits{})
		for range i + 1 {
			if _, err := el.Append(ctx, "", "", []byte(name)); err != nil {
				t.Fatalf("Append to %q = %v", name, err)
			}
		}
	}
	for i, name := range names {
		el := open(t, ctx, e, name, hub.Limits{})
		all, _ := readAll(t, ctx, el, 0)
		if len(all) != i+1 {
			t.Errorf("topic %q holds %d entries, want %d: names were mixed up", name, len(all), i+1)
			continue
		}
		for _, en := range all {
			if string(en.Data) != name {
				t.Errorf("topic %q holds an entry of %q", name, en.Data)
			}
		}
	}
}

// exactlyOnce: publishers on three nodes at once; every append gets its
// own sequence number, the log holds each once, and readers on every node
// (a subscription, a long poll, and one that hops between nodes) receive
// 1..N exactly once and in order with the same payload at each seq.
func (s *suite) exactlyOnce(t *testing.T) {
	ctx := ctxFor(t, 3*time.Minute)
	nodes := []hub.Engine{s.node(t), s.node(t), s.node(t)}
	name := s.topic(t)
	const perNode = 3
	each := s.scaled(200)
	total := len(nodes) * perNode * each
	opts := &hub.TopicOptions{MaxEntries: total + 10, MaxBytes: 64 << 20}
	topics := make([]*hub.Topic, len(nodes))
	for i, e := range nodes {
		topics[i] = openTopic(t, ctx, e, name, opts)
	}

	// Readers start before the publishers.
	type result struct {
		name string
		got  []hub.Entry
		err  error
	}
	results := make(chan result, 8)
	readers := 0
	for i, tp := range topics {
		sub, err := tp.Subscribe(ctx, hub.After(0))
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		readers++
		go func() {
			var got []hub.Entry
			for len(got) < total {
				e, err := sub.Next(ctx)
				if err != nil {
					results <- result{fmt.Sprintf("subscriber on node %d", i), got, err}
					return
				}
				got = append(got, e)
			}
			results <- result{fmt.Sprintf("subscriber on node %d", i), got, nil}
		}()
	}
	poll := func(name string, hop bool) {
		readers++
		go func() {
			var got []hub.Entry
			buf := make([]hub.Entry, 37)
			c := hub.After(0)
			node := 0
			for len(got) < total {
				tp := topics[node]
				n, next, err := tp.ReadAfter(ctx, c, buf)
				if err != nil {
					results <- result{name, got, err}
					return
				}
				got = append(got, buf[:n]...)
				c = next
				if n == 0 {
					if err := tp.Wait(ctx, c); err != nil {
						results <- result{name, got, err}
						return
					}
				}
				if hop {
					node = (node + 1) % len(topics)
				}
			}
			results <- result{name, got, nil}
		}()
	}
	poll("long poll on node 0", false)
	poll("long poll hopping nodes", true)

	sent := make([][]hub.Seq, len(nodes)*perNode)
	var wg sync.WaitGroup
	for i, tp := range topics {
		for p := range perNode {
			w := i*perNode + p
			wg.Go(func() {
				for k := range each {
					seq, err := tp.Publish(ctx, "", fmt.Appendf(nil, "w%d-%d", w, k))
					if err != nil {
						t.Errorf("Publish on node %d = %v", i, err)
						return
					}
					sent[w] = append(sent[w], seq)
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// Every publish got its own seq, in 1..total, increasing per writer.
	bySeq := make(map[hub.Seq]string, total)
	for w, seqs := range sent {
		for k, seq := range seqs {
			if k > 0 && seq <= seqs[k-1] {
				t.Fatalf("writer %d: publish %d got seq %d after %d", w, k, seq, seqs[k-1])
			}
			if prev, dup := bySeq[seq]; dup {
				t.Fatalf("seq %d given to %q and w%d-%d", seq, prev, w, k)
			}
			bySeq[seq] = fmt.Sprintf("w%d-%d", w, k)
		}
	}
	if len(bySeq) != total {
		t.Fatalf("%d distinct seqs for %d publishes", len(bySeq), total)
	}
	for range readers {
		r := <-results
		if r.err != nil {
			t.Errorf("%s: %v after %d entries", r.name, r.err, len(r.got))
			continue
		}
		for i, e := range r.got {
			if e.Seq != hub.Seq(i+1) {
				t.Errorf("%s: entry #%d has seq %d, want %d", r.name, i, e.Seq, i+1)
				break
			}
			if string(e.Data) != bySeq[e.Seq] {
				t.Errorf("%s: seq %d = %q, but the publisher of %q got it", r.name, e.Seq, e.Data, bySeq[e.Seq])
				break
			}
		}
	}
}

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

// epochs: every node sees the same valid epoch, and a reopened log keeps
// it; cursors of another epoch or ahead of the log get one reset.
func (s *suite) epochs(t *testing.T) {
	ctx := ctxFor(t, time.Minute)
	a, b := s.node(t), s.node(t)
	name := s.topic(t)
	la := open(t, ctx, a, name, hub.Limits{})
	appendN(t, ctx, la, 1, 3)
	ba, _ := la.Bounds(ctx)
	lb := open(t, ctx, b, name, hub.Limits{})
	bb, _ := lb.Bounds(ctx)
	if !ba.Epoch.Valid() || ba.Epoch != bb.Epoch {
		t.Fatalf("epochs %q and %q on two nodes, want one valid epoch", ba.Epoch, bb.Epoch)
	}
	la.Close()
	la2 := open(t, ctx, a, name, hub.Limits{})
	if b2, _ := la2.Bounds(ctx); b2.Epoch != ba.Epoch || b2.Last != 3 {
		t.Errorf("reopened log: %+v, want epoch %q and Last 3", b2, ba.Epoch)
	}
	tp := openTopic(t, ctx, b, name, nil)
	buf := make([]hub.Entry, 8)
	for _, c := range []hub.Cursor{hub.AfterIn("not-"+ba.Epoch, 2), hub.AfterIn(ba.Epoch, 4), hub.After(4)} {
		_, next, err := tp.ReadAfter(ctx, c, buf)
		var reset hub.ResetError
		if !errors.As(err, &reset) || reset.Epoch != ba.Epoch || reset.After != 0 || next != hub.AfterIn(ba.Epoch, 0) {
			t.Errorf("ReadAfter(%q) = %q, %v, want a reset to %q", c, next, err, hub.AfterIn(ba.Epoch, 0))
		}
	}
	// A bare cursor inside the log is taken in its epoch (once the node's
	// tail has brought the entries: Wait returns when it has).
	if err := tp.Wait(ctx, hub.After(1)); err != nil {
		t.Fatal(err)
	}
	n, next, err := tp.ReadAfter(ctx, hub.After(1), buf)
	if n != 2 || err != nil || next != hub.AfterIn(ba.Epoch, 3) {
		t.Errorf("ReadAfter(1) = %d, %q, %v, want 2, %q", n, next, err, hub.AfterIn(ba.Epoch, 3))
	}
}

// wipe: a log wiped while nodes use it comes back in a new epoch,
// numbered from 1; a subscriber of the old one gets one reset and then the
// new entries, and an old cursor is never read as a new position.
func (s *suite) wipe(t *testing.T) {
	ctx := ctxFor(t, 2*time.Minute)
	a, b := s.node(t), s.node(t)
	name := s.topic(t)
	ta := openTopic(t, ctx, a, name, nil)
	tb := openTopic(t, ctx, b, name, nil)
	for i := range 5 {
		if _, err := ta.Publish(ctx, "", fmt.Appendf(nil, "old %d", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	old := ta.Epoch()
	sub, err := tb.Subscribe(ctx, hub.AfterIn(old, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for i := range 5 {
		if e, err := sub.Next(ctx); err != nil || e.Seq != hub.Seq(i+1) {
			t.Fatalf("Next before the wipe = %d, %v", e.Seq, err)
		}
	}
	s.h.Wipe(t)
	// Publish on a until the new log has entries: the first publishes
	// may race the wipe.
	var seq hub.Seq
	for i := 0; seq == 0 || seq < 3; i++ {
		if seq, err = ta.Publish(ctx, "", fmt.Appendf(nil, "new %d", i)); err != nil {
			t.Fatalf("Publish after the wipe = %v", err)
		}
		if i > 20 {
			t.Fatalf("Publish after the wipe keeps returning old seqs: %d", seq)
		}
	}
	var reset hub.ResetError
	if _, err := sub.Next(ctx); !errors.As(err, &reset) || reset.Epoch == old || !reset.Epoch.Valid() || reset.From != hub.AfterIn(old, 5) {
		t.Fatalf("Next after the wipe = %v, want a ResetError from %q to a new epoch", err, hub.AfterIn(old, 5))
	}
	e, err := sub.Next(ctx)
	if err != nil || e.Seq != reset.After+1 || !bytes.HasPrefix(e.Data, []byte("new ")) {
		t.Fatalf("Next after the reset = %d %q, %v, want %d, a new entry", e.Seq, e.Data, err, reset.After+1)
	}
	// An old cursor on a fresh node: reset, never the new entries as if
	// they were the old ones.
	c := s.node(t)
	tc := openTopic(t, ctx, c, name, nil)
	_, _, err = tc.ReadAfter(ctx, hub.AfterIn(old, 1), make([]hub.Entry, 4))
	if !errors.As(err, &reset) || reset.Epoch == old {
		t.Errorf("ReadAfter(old epoch) after the wipe = %v, want a ResetError", err)
	}
	if ep := tc.Epoch(); ep == old {
		t.Errorf("a new node sees epoch %q after the wipe, want a new one", ep)
	}
}

// restart: a durable store keeps epoch and entries across a restart; a
// volatile one starts a new epoch.
func (s *suite) restart(t *testing.T) {
	ctx := ctxFor(t, 2*time.Minute)
	name := s.topic(t)
	var before hub.Bounds
	func() {
		a := s.h.Node(t)
		defer a.Close()
		la, err := a.Open(ctx, name, hub.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		defer la.Close()
		appendN(t, ctx, la, 1, 10)
		before, _ = la.Bounds(ctx)
	}()
	s.h.Restart(t)
	b := s.node(t)
	var lb hub.EngineLog
	var err error
	for i := 0; ; i++ { // the store may take a moment to be ready
		if lb, err = b.Open(ctx, name, hub.Limits{}); err == nil {
			break
		}
		if i > 100 || ctx.Err() != nil {
			t.Fatalf("Open after restart = %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer lb.Close()
	after, err := lb.Bounds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.h.Durable {
		all, _ := readAll(t, ctx, lb, 0)
		if after.Epoch != before.Epoch || after.Last != 10 || len(all) != 10 || string(all[9].Data) != "entry 10" {
			t.Errorf("after restart: %+v with %d entries, want epoch %q and the 10 entries", after, len(all), before.Epoch)
		}
		return
	}
	if after.Epoch == before.Epoch {
		t.Errorf("after restart of a volatile store: epoch %q unchanged, want a new one", after.Epoch)
	}
}

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
