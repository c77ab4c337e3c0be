package redis

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
)

// TestOneReaderPerNode: two nodes with 300 subscribers and 50 long-poll
// waits each on one topic hold one blocked Redis connection per node
// (INFO's blocked_clients is 2), and no more connections in all than
// their pools' bound and their waiters, whatever the number of readers;
// one publish reaches all 600 subscribers.
func TestOneReaderPerNode(t *testing.T) {
	s := startRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const nodes, subs, polls = 2, 300, 50
	var topics []*hub.Topic
	for range nodes {
		e := s.engine(t)
		defer e.Close()
		tp, err := hub.OpenTopic(ctx, e, "fan-out", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tp.Close()
		topics = append(topics, tp)
	}
	got := make(chan hub.Entry, nodes*subs)
	var wg sync.WaitGroup
	wctx, wcancel := context.WithCancel(ctx)
	defer func() { wcancel(); wg.Wait() }()
	for _, tp := range topics {
		for range subs {
			sub, err := tp.Subscribe(ctx, hub.FromNow())
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			wg.Go(func() {
				if e, err := sub.Next(ctx); err == nil {
					got <- e
				}
			})
		}
		for range polls {
			wg.Go(func() { tp.Wait(wctx, hub.FromNow()) })
		}
	}
	info := func() (connected, blocked int) {
		text := s.client(t).Info(ctx, "clients").Val()
		for _, line := range strings.Split(text, "\r\n") {
			if v, ok := strings.CutPrefix(line, "connected_clients:"); ok {
				connected, _ = strconv.Atoi(v)
			}
			if v, ok := strings.CutPrefix(line, "blocked_clients:"); ok {
				blocked, _ = strconv.Atoi(v)
			}
		}
		return connected - 1, blocked // less the INFO client itself
	}
	var connected, blocked int
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if connected, blocked = info(); blocked == nodes {
			break
		}
	}
	pool := 10 * runtime.GOMAXPROCS(0) // go-redis's default PoolSize
	if blocked != nodes || connected > nodes*(pool+1) {
		t.Errorf("%d nodes with %d readers each: %d blocked Redis connections, %d in all; want %d blocked, at most %d in all", nodes, subs+polls, blocked, connected, nodes, nodes*(pool+1))
	}
	if _, err := topics[0].Publish(ctx, "", []byte("to all")); err != nil {
		t.Fatal(err)
	}
	for i := range nodes * subs {
		select {
		case e := <-got:
			if string(e.Data) != "to all" {
				t.Fatalf("subscriber got %q", e.Data)
			}
		case <-ctx.Done():
			t.Fatalf("%d of %d subscribers got the entry", i, nodes*subs)
		}
	}
	t.Logf("%d nodes, %d subscribers and %d long polls each: %d Redis connections, %d blocked", nodes, subs, polls, connected, blocked)
}
