package enginetest

import (
	"context"
	"fmt"
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

// notifyNext is Subscription.Next done as a reader without a goroutine of
// its own reads (hub.Notifier): TryNext, and Notify when there is nothing
// yet; it blocks on a channel only because the suite needs to.
func notifyNext(ctx context.Context, sub hub.Subscription) (hub.Entry, error) {
	n, ok := sub.(hub.Notifier)
	if !ok {
		return hub.Entry{}, fmt.Errorf("the subscription (%T) is not a hub.Notifier", sub)
	}
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
			return hub.Entry{}, err
		}
		if !waiting {
			continue
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return hub.Entry{}, ctx.Err()
		}
	}
}
