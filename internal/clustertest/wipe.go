package clustertest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
)

// WipeOptions configures Wipe. Wipe copies it and never changes the
// caller's.
type WipeOptions struct {
	// Engine returns a new client of the shared store, one per node.
	// Required.
	Engine func(t testing.TB) hub.Engine
	// Wipe deletes every log of the store while the nodes run (FLUSHALL,
	// every stream deleted). Required.
	Wipe func(t testing.TB)
	// Nodes is how many nodes run; default 3.
	Nodes int
	// Before and After are how many entries are published before the
	// wipe and after it; default 300 each.
	Before, After int
	// Quiet publishes nothing after the wipe until every client has had
	// its reset: the nodes must notice the wipe by themselves, with no
	// append to tell them.
	Quiet bool
}

// WipeResult is what Wipe saw.
type WipeResult struct {
	Old, New hub.Epoch     // the log's epoch before the wipe and after it
	Took     time.Duration // from the wipe to the last client done
}

// Wipe runs Nodes nodes on one store with a client of every transport
// hopping between them, publishes Before entries ("old N") from every
// node, wipes the store (and with Quiet waits for every client's reset),
// publishes After entries ("new N") and checks
// that every client received the old entries 1..Before, then exactly one
// reset to the new epoch, then the new entries 1..After: never an old
// entry after the reset, never a new one before it, nothing twice. Every
// node ends in the new epoch.
func Wipe(t *testing.T, opts *WipeOptions) WipeResult {
	if opts == nil || opts.Engine == nil || opts.Wipe == nil {
		t.Fatal("clustertest: WipeOptions.Engine and Wipe are required")
	}
	o := *opts
	if o.Nodes <= 0 {
		o.Nodes = 3
	}
	if o.Before <= 0 {
		o.Before = 300
	}
	if o.After <= 0 {
		o.After = 300
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := fmt.Sprintf("wipe-%d", time.Now().UnixNano())
	nodes := startNodes(t, ctx, o.Nodes, o.Engine, name, &hub.TopicOptions{MaxEntries: 10000, MaxBytes: 16 << 20})
	old := nodes[0].Topic.Epoch()
	total := o.Before + o.After

	clients := make([]*Client, len(Transports))
	var wg sync.WaitGroup
	for i, tr := range Transports {
		c := NewClient(tr, "0")
		clients[i] = c
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(i), 13))
			for c.count() < total && ctx.Err() == nil {
				n := nodes[rnd.IntN(len(nodes))]
				if err := c.Read(ctx, n.URL, 20+rnd.IntN(60), total); err != nil && ctx.Err() == nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	publish := func(prefix string, count int) {
		for i := range count {
			if _, err := nodes[i%len(nodes)].Topic.Publish(ctx, "", fmt.Appendf(nil, "%s %d", prefix, i)); err != nil {
				t.Fatalf("Publish %s %d = %v", prefix, i, err)
			}
		}
	}
	publish("old", o.Before)
	waitClients(t, ctx, clients, o.Before)
	start := time.Now()
	o.Wipe(t)
	if o.Quiet {
		waitResets(t, ctx, clients)
	}
	publish("new", o.After)
	waitClients(t, ctx, clients, total)
	res := WipeResult{Old: old, New: nodes[0].Topic.Epoch(), Took: time.Since(start)}
	cancel()
	wg.Wait()

	if res.New == old || !res.New.Valid() {
		t.Errorf("epoch %q after the wipe, was %q: want a new one", res.New, old)
	}
	for i, n := range nodes {
		if ep := n.Topic.Epoch(); ep != res.New {
			t.Errorf("node %d in epoch %q after the wipe, node 0 in %q", i, ep, res.New)
		}
	}
	for _, c := range clients {
		wantReset := string(res.New) + ":0"
		if len(c.Resets) != 1 || c.Resets[0] != wantReset {
			t.Errorf("%s client: resets %q, want one, to %q", c.Transport, c.Resets, wantReset)
		}
		if len(c.Got) != total {
			t.Errorf("%s client: %d entries, want %d", c.Transport, len(c.Got), total)
			continue
		}
		for i, g := range c.Got {
			wantSeq, want := uint64(i+1), fmt.Sprintf("old %d", i)
			if i >= o.Before {
				wantSeq, want = uint64(i-o.Before+1), fmt.Sprintf("new %d", i-o.Before)
			}
			if g.Seq != wantSeq || g.Data != want {
				t.Errorf("%s client: entry #%d = %d %q, want %d %q", c.Transport, i, g.Seq, g.Data, wantSeq, want)
				break
			}
		}
		if !strings.HasPrefix(c.Cursor, string(res.New)+":") {
			t.Errorf("%s client: last cursor %q, want one in epoch %q", c.Transport, c.Cursor, res.New)
		}
	}
	return res
}

// waitResets waits until every client has had a reset.
func waitResets(t *testing.T, ctx context.Context, clients []*Client) {
	t.Helper()
	for ctx.Err() == nil {
		ok := true
		for _, c := range clients {
			c.mu.Lock()
			if len(c.Resets) == 0 {
				ok = false
			}
			c.mu.Unlock()
		}
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("clients did not all get a reset")
}
