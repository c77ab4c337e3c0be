package enginetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
)

// The cases of epochs: kept by a durable store, changed when the store is
// wiped or restarted without its logs.

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
	// The same through TryNext and Notify, from the old history's last
	// cursor.
	nsub, err := tb.Subscribe(ctx, hub.AfterIn(old, 5))
	if err != nil {
		t.Fatal(err)
	}
	defer nsub.Close()
	var nreset hub.ResetError
	if _, err := notifyNext(ctx, nsub); !errors.As(err, &nreset) || nreset.Epoch == old || !nreset.Epoch.Valid() {
		t.Fatalf("read through Notify after the wipe = %v, want a ResetError to a new epoch", err)
	}
	if e, err := notifyNext(ctx, nsub); err != nil || e.Seq != nreset.After+1 || !bytes.HasPrefix(e.Data, []byte("new ")) {
		t.Fatalf("read through Notify after the reset = %d %q, %v, want %d, a new entry", e.Seq, e.Data, err, nreset.After+1)
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
