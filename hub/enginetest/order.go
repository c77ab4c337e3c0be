package enginetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
)

// The cases of one order across nodes: sequence numbers, topic names kept
// apart, and exactly-once delivery under concurrent publishers.

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
	// A subscriber that reads without a goroutine waiting in Next, as
	// httpstream's streams do: TryNext, and Notify when there is nothing.
	{
		sub, err := topics[len(topics)-1].Subscribe(ctx, hub.After(0))
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		readers++
		go func() {
			var got []hub.Entry
			for len(got) < total {
				e, err := notifyNext(ctx, sub)
				if err != nil {
					results <- result{"subscriber through Notify", got, err}
					return
				}
				got = append(got, e)
			}
			results <- result{"subscriber through Notify", got, nil}
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
