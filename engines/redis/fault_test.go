package redis

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/internal/clustertest"
)

// TestServerKilled: the cluster scenario (three nodes, 3 × 2,000
// entries, clients of every transport hopping between nodes), with
// redis-server killed by SIGKILL a third of the way and started again on
// its append-only file half a second later instead of a node killed. The
// nodes reconnect by themselves, publishes retry with their keys, and
// every client receives 1..6000 exactly once, in order, with no reset,
// ending in the epoch of the start: no acknowledged entry is lost or
// doubled.
func TestServerKilled(t *testing.T) {
	s := startRedis(t)
	var down time.Duration
	var failed atomic.Int64
	res := clustertest.Run(t, &clustertest.Options{
		Engine: func(t testing.TB) hub.Engine { return countFailures{s.engine(t), &failed} },
		Fault: func(t testing.TB) {
			start := time.Now()
			s.kill()
			time.Sleep(500 * time.Millisecond)
			if err := s.startErr(); err != nil {
				t.Error(err)
			}
			down = time.Since(start)
		},
	})
	if failed.Load() == 0 {
		t.Error("no append failed while redis-server was down: the fault missed the publishers")
	}
	t.Logf("redis-server down %v, %d appends failed meanwhile and were retried with their keys; %d entries to %d clients in %v, epoch %s throughout: %d connections, %d broken, %d publishes retried on another node",
		down.Round(time.Millisecond), failed.Load(), res.Entries, res.Clients, res.Took.Round(time.Millisecond), res.Epoch, res.Hops, res.Failures, res.Retries)
}

// TestFlushAll: FLUSHALL under three nodes with clients of every
// transport hopping between them: each client gets the old entries, then
// exactly one reset to the new epoch, then only new entries. Once with
// publishes right after the FLUSHALL (the first append makes the new
// epoch) and once with none until the resets came (each node's Wait
// finds the log gone within Options.Poll and makes it anew).
func TestFlushAll(t *testing.T) {
	s := startRedis(t)
	for _, quiet := range []bool{false, true} {
		name := map[bool]string{false: "publishing", true: "quiet"}[quiet]
		t.Run(name, func(t *testing.T) {
			res := clustertest.Wipe(t, &clustertest.WipeOptions{
				Engine: func(t testing.TB) hub.Engine { return s.engine(t) },
				Wipe:   s.flushAll,
				Quiet:  quiet,
			})
			t.Logf("epoch %s, then %s: every client reset once; %v from FLUSHALL to the last client done", res.Old, res.New, res.Took.Round(time.Millisecond))
		})
	}
}

// countFailures is an engine that counts the appends of its logs that
// fail.
type countFailures struct {
	hub.Engine
	n *atomic.Int64
}

func (e countFailures) Open(ctx context.Context, topic string, l hub.Limits) (hub.EngineLog, error) {
	el, err := e.Engine.Open(ctx, topic, l)
	if err != nil {
		return nil, err
	}
	return countingLog{el, e.n}, nil
}

type countingLog struct {
	hub.EngineLog
	n *atomic.Int64
}

func (l countingLog) Append(ctx context.Context, key, typ string, data []byte) (hub.Seq, error) {
	seq, err := l.EngineLog.Append(ctx, key, typ, data)
	if err != nil {
		l.n.Add(1)
	}
	return seq, err
}
