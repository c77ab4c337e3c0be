package clustertest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
)

// RestartOptions configures Restart. Restart copies it and never changes
// the caller's.
type RestartOptions struct {
	// Engine returns the engine of each start of the node: a new
	// in-memory one (a restarted process), or a new client of a shared
	// store. Required.
	Engine func(t testing.TB) hub.Engine
	// Between, if set, runs while the node is down (restart the store).
	Between func(t testing.TB)
	// WantReset says that the restarted node's log is a new history: every
	// client must get exactly one reset, then the entries published after
	// the restart. Otherwise no client may get a reset and every client
	// must receive every entry, from before and after, exactly once.
	WantReset bool
	// Before and After are how many entries are published before the kill
	// and after the restart; default 300 each.
	Before, After int
}

// Restart runs one node with a client of every transport, publishes, kills
// the node without a graceful close, starts it again on the same address
// (its clients come back to it by themselves), publishes again, and checks
// what the clients received against o.WantReset.
func Restart(t *testing.T, opts *RestartOptions) {
	if opts == nil || opts.Engine == nil {
		t.Fatal("clustertest: RestartOptions.Engine is required")
	}
	o := *opts
	if o.Before <= 0 {
		o.Before = 300
	}
	if o.After <= 0 {
		o.After = 300
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topts := &hub.TopicOptions{MaxEntries: 10000, MaxBytes: 16 << 20}
	node, err := StartNode(ctx, o.Engine(t), "restart", topts)
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(node.URL, "http://"), "/")
	var mu sync.Mutex // guards node
	current := func() *Node { mu.Lock(); defer mu.Unlock(); return node }
	defer func() { current().Stop() }()

	base := node.URL
	clients := make([]*Client, len(Transports))
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i, tr := range Transports {
		c := NewClient(tr, "0")
		clients[i] = c
		wg.Go(func() {
			for ctx.Err() == nil {
				select {
				case <-done:
					return
				default:
				}
				if err := c.Read(ctx, base, 1<<30, 1<<30); err != nil {
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	publish := func(n *Node, from, count int) {
		for i := from; i < from+count; i++ {
			if _, err := n.Topic.Publish(ctx, "", fmt.Appendf(nil, "entry %d", i)); err != nil {
				t.Fatalf("Publish = %v", err)
			}
		}
	}
	publish(node, 0, o.Before)
	waitClients(t, ctx, clients, o.Before)
	node.Kill()
	if o.Between != nil {
		o.Between(t)
	}
	n2, err := StartNodeAt(ctx, o.Engine(t), "restart", topts, addr)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	node = n2
	mu.Unlock()
	publish(n2, o.Before, o.After)
	waitClients(t, ctx, clients, o.Before+o.After)
	close(done)
	cancel() // ends the clients' connections
	wg.Wait()

	for _, c := range clients {
		if o.WantReset != (len(c.Resets) == 1) || len(c.Resets) > 1 {
			t.Errorf("%s client: %d resets %v, want %d", c.Transport, len(c.Resets), c.Resets, map[bool]int{true: 1}[o.WantReset])
		}
		// The entries: 1..Before, then (after a reset) 1..After again, or
		// 1..Before+After.
		var wantData []string
		for i := range o.Before + o.After {
			wantData = append(wantData, fmt.Sprintf("entry %d", i))
		}
		if len(c.Got) != o.Before+o.After {
			t.Errorf("%s client: %d entries, want %d", c.Transport, len(c.Got), o.Before+o.After)
			continue
		}
		for i, g := range c.Got {
			wantSeq := uint64(i + 1)
			if o.WantReset && i >= o.Before {
				wantSeq = uint64(i - o.Before + 1)
			}
			if g.Seq != wantSeq || g.Data != wantData[i] {
				t.Errorf("%s client: entry #%d = %d %q, want %d %q", c.Transport, i, g.Seq, g.Data, wantSeq, wantData[i])
				break
			}
		}
		t.Logf("%s client: %d entries, %d resets, %d connections", c.Transport, len(c.Got), len(c.Resets), c.Conns)
	}
}

// waitClients waits until every client has n entries.
func waitClients(t *testing.T, ctx context.Context, clients []*Client, n int) {
	t.Helper()
	for ctx.Err() == nil {
		ok := true
		for _, c := range clients {
			if c.count() < n {
				ok = false
			}
		}
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range clients {
		t.Logf("%s client: %d entries, cursor %q", c.Transport, c.count(), c.cursor())
	}
	t.Fatalf("clients did not all reach %d entries", n)
}
