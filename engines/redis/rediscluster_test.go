package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/hub/enginetest"
)

// startRedisCluster starts a Redis Cluster of n masters on loopback, the
// 16,384 slots split between them, and returns its seed URL with every
// node (redis://HOST:PORT?addr=...).
func startRedisCluster(t *testing.T, n int) (string, []*redisServer) {
	t.Helper()
	servers := make([]*redisServer, n)
	for i := range n {
		s := startRedisArgs(t, "always", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(freePort(t)), "--cluster-node-timeout", "5000")
		servers[i] = s
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	per := 16384 / n
	for i, s := range servers {
		lo, hi := i*per, (i+1)*per-1
		if i == n-1 {
			hi = 16383
		}
		c := s.client(t)
		if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", lo, hi).Err(); err != nil {
			t.Fatalf("CLUSTER ADDSLOTSRANGE on %s: %v", s.addr(), err)
		}
		if i > 0 {
			bus := s.extra[5] // --cluster-port
			if err := servers[0].client(t).Do(ctx, "CLUSTER", "MEET", "127.0.0.1", s.port, bus).Err(); err != nil {
				t.Fatalf("CLUSTER MEET %s: %v", s.addr(), err)
			}
		}
	}
	for _, s := range servers {
		c := s.client(t)
		for {
			info := c.ClusterInfo(ctx).Val()
			if strings.Contains(info, "cluster_state:ok") && strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", n)) {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("cluster not ready on %s: %s", s.addr(), info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	url := servers[0].url() + "?"
	for i, s := range servers[1:] {
		if i > 0 {
			url += "&"
		}
		url += "addr=" + s.addr()
	}
	return url, servers
}

// TestRedisCluster runs hub's engine suite on a Redis Cluster of three
// masters: the keys of a topic share a slot (a script's keys in two slots
// would fail with CROSSSLOT), its waits go to the master of that slot, and
// topics spread over the masters. The wipe is FLUSHALL on every master.
func TestRedisCluster(t *testing.T) {
	url, servers := startRedisCluster(t, 3)
	enginetest.Run(t, enginetest.Harness{
		Node: func(t *testing.T) hub.Engine {
			e, err := Connect(url, nil)
			if err != nil {
				t.Fatal(err)
			}
			return e
		},
		Wipe: func(t *testing.T) {
			for _, s := range servers {
				s.flushAll(t)
			}
		},
		Scale: 0.5,
	})
	// Topics spread over the masters, each wholly on one.
	ctx := context.Background()
	e, err := Connect(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for i := range 30 {
		el, err := e.Open(ctx, fmt.Sprintf("spread %d", i), hub.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		el.Append(ctx, "k", "", []byte("x"))
		el.Close()
	}
	for _, s := range servers {
		keys, err := s.client(t).Keys(ctx, "pw:{t-spread_20*}:*").Result()
		if err != nil || len(keys) == 0 || len(keys)%4 != 0 {
			t.Errorf("master %s holds keys %q (%v): want every key of some topics", s.addr(), keys, err)
		}
	}
}
