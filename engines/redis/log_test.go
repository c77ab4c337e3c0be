package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
)

// open returns a log of a new engine on s, both closed when the test
// ends.
func open(t *testing.T, s *redisServer, topic string, l hub.Limits, opts *Options) hub.EngineLog {
	t.Helper()
	e, err := Connect(s.url(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	el, err := e.Open(ctx, topic, l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { el.Close() })
	return el
}

// TestLayout: what the scripts leave in Redis for a topic: entry N at ID
// N-0 with its fields, the meta hash with the epoch, last seq, bytes held
// and limits, the keys of the held entries, and the epochs stream.
func TestLayout(t *testing.T) {
	s := startRedis(t)
	ctx := context.Background()
	el := open(t, s, "chat", hub.Limits{MaxEntries: 3, MaxBytes: 1000}, nil)
	before := time.Now()
	for i := 1; i <= 5; i++ {
		if _, err := el.Append(ctx, "key-"+strconv.Itoa(i), "msg", fmt.Appendf(nil, "entry %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	rc := s.client(t)
	b, _ := el.Bounds(ctx)
	m := rc.HGetAll(ctx, "pw:{t-chat}:m").Val()
	want := map[string]string{"e": string(b.Epoch), "l": "5", "b": strconv.Itoa(3 * len("msgentry 1")), "n": "3", "m": "1000"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("meta %s = %q, want %q (meta %v)", k, m[k], v, m)
		}
	}
	xs := rc.XRange(ctx, "pw:{t-chat}:s", "-", "+").Val()
	if len(xs) != 3 || xs[0].ID != "3-0" || xs[2].ID != "5-0" {
		t.Fatalf("stream holds %v, want IDs 3-0..5-0", xs)
	}
	v := xs[2].Values
	us, _ := strconv.ParseInt(fmt.Sprint(v["u"]), 10, 64)
	at := time.UnixMicro(us)
	if v["d"] != "entry 5" || v["t"] != "msg" || v["k"] != "key-5" || at.Before(before.Add(-time.Minute)) || at.After(time.Now().Add(time.Minute)) {
		t.Errorf("entry 5-0 = %v, want d, t, k and u (the server's time in µs)", v)
	}
	if keys := rc.HGetAll(ctx, "pw:{t-chat}:k").Val(); len(keys) != 3 || keys["key-3"] != "3" || keys["key-5"] != "5" {
		t.Errorf("keys hash = %v, want key-3..key-5 only", keys)
	}
	es := rc.XRange(ctx, "pw:{t-chat}:e", "-", "+").Val()
	if len(es) != 1 || es[0].Values["e"] != string(b.Epoch) || m["x"] != es[0].ID {
		t.Errorf("epochs stream = %v, meta x %q; want one entry of epoch %q", es, m["x"], b.Epoch)
	}
	if b.First != 3 || b.Last != 5 {
		t.Errorf("bounds %+v, want First 3, Last 5", b)
	}
	// The engine's Time is the server's.
	buf := make([]hub.Entry, 4)
	n, _, err := el.Read(ctx, 4, buf)
	if err != nil || n != 1 || !buf[0].Time.Equal(at) || buf[0].Type != "msg" {
		t.Errorf("Read(4) = %d, %+v, %v; want entry 5 of time %v", n, buf[0], err, at)
	}
}

// TestByteBound: entries of mixed sizes, with and without a type, through
// a log bounded to 1,000 bytes: the log never holds more, the byte
// counter always equals what it holds, and the oldest go first.
func TestByteBound(t *testing.T) {
	s := startRedis(t)
	ctx := context.Background()
	el := open(t, s, "bytes", hub.Limits{MaxEntries: 1000, MaxBytes: 1000}, nil)
	rc := s.client(t)
	for i := range 300 {
		typ := ""
		if i%3 == 0 {
			typ = "t" + strconv.Itoa(i)
		}
		size := (i * 37) % 400
		if _, err := el.Append(ctx, "", typ, []byte(strings.Repeat("x", size))); err != nil {
			t.Fatal(err)
		}
		held := 0
		xs := rc.XRange(ctx, "pw:{t-bytes}:s", "-", "+").Val()
		for _, x := range xs {
			held += len(fmt.Sprint(x.Values["d"]))
			if tv, ok := x.Values["t"]; ok {
				held += len(fmt.Sprint(tv))
			}
		}
		counter, _ := strconv.Atoi(rc.HGet(ctx, "pw:{t-bytes}:m", "b").Val())
		if held > 1000 || counter != held {
			t.Fatalf("after append %d: %d bytes held, counter %d; want at most 1000 and equal", i, held, counter)
		}
		if last := xs[len(xs)-1].ID; last != strconv.Itoa(i+1)+"-0" {
			t.Fatalf("after append %d: last ID %s", i, last)
		}
	}
}

// TestKeyWindow: an idempotency key is honoured as long as its entry is
// held, and forgotten with it, so the keys hash never outgrows the log.
func TestKeyWindow(t *testing.T) {
	s := startRedis(t)
	ctx := context.Background()
	el := open(t, s, "keys", hub.Limits{MaxEntries: 10}, nil)
	first, err := el.Append(ctx, "k0", "", []byte("zero"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 9; i++ {
		el.Append(ctx, "k"+strconv.Itoa(i), "", []byte("x"))
	}
	if seq, err := el.Append(ctx, "k0", "", []byte("zero")); seq != first || err != nil {
		t.Fatalf("retry of k0 while held = %d, %v, want %d", seq, err, first)
	}
	el.Append(ctx, "k10", "", []byte("x")) // drops entry 1, of k0
	if seq, err := el.Append(ctx, "k0", "", []byte("zero")); seq != 12 || err != nil {
		t.Errorf("retry of k0 once its entry is gone = %d, %v, want a new entry, 12", seq, err)
	}
	for i := 13; i <= 100; i++ {
		el.Append(ctx, "k"+strconv.Itoa(i), "", []byte("x"))
	}
	if n := s.client(t).HLen(ctx, "pw:{t-keys}:k").Val(); n != 10 {
		t.Errorf("keys hash holds %d keys for a log of 10 entries", n)
	}
}

// TestMetaLost: a log whose meta hash alone is gone (evicted, deleted by
// hand) comes back in a new epoch and starts from 1; what its stream held
// is not read as the new history.
func TestMetaLost(t *testing.T) {
	s := startRedis(t)
	ctx := context.Background()
	el := open(t, s, "lost", hub.Limits{}, nil)
	for range 5 {
		el.Append(ctx, "", "", []byte("old"))
	}
	b0, _ := el.Bounds(ctx)
	s.client(t).Del(ctx, "pw:{t-lost}:m")
	seq, err := el.Append(ctx, "", "", []byte("new"))
	if err != nil || seq != 1 {
		t.Fatalf("Append after the meta hash was lost = %d, %v, want 1", seq, err)
	}
	buf := make([]hub.Entry, 10)
	n, b, err := el.Read(ctx, 0, buf)
	if err != nil || n != 1 || string(buf[0].Data) != "new" || b.Epoch == b0.Epoch || b.First != 1 || b.Last != 1 {
		t.Errorf("Read = %d entries (%q), %+v, %v; want the new entry alone in a new epoch (was %q)", n, buf[0].Data, b, err, b0.Epoch)
	}
}

// TestWaitEnds: a Wait blocked in Redis ends when its ctx is cancelled,
// when its log is closed and when its engine is closed, and a Wait with a
// deadline ends at the deadline, with the right errors: each well before
// the 30 s poll the Wait is blocked in would have ended it (the bound is
// what tells the two apart, not a measure of speed).
func TestWaitEnds(t *testing.T) {
	s := startRedis(t)
	opts := &Options{Poll: 30 * time.Second}
	wait := func(el hub.EngineLog, ctx context.Context, end func()) (error, time.Duration) {
		done := make(chan error, 1)
		go func() {
			_, err := el.Wait(ctx, 1<<40)
			done <- err
		}()
		time.Sleep(200 * time.Millisecond) // blocked in XREAD by now
		start := time.Now()
		end()
		select {
		case err := <-done:
			return err, time.Since(start)
		case <-time.After(20 * time.Second):
			t.Fatal("Wait still blocked 20 s after its end: it waited for its 30 s poll")
			return nil, 0
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	el := open(t, s, "w1", hub.Limits{}, opts)
	if err, took := wait(el, ctx, cancel); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with its ctx cancelled = %v after %v, want %v before its poll ended", err, took, context.Canceled)
	}
	// The log still works after an interrupted Wait.
	if _, err := el.Append(context.Background(), "", "", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if b, err := el.Wait(context.Background(), 0); err != nil || b.Last != 1 {
		t.Errorf("Wait(0) after an interrupted Wait = %+v, %v, want Last 1", b, err)
	}
	if err, took := wait(el, context.Background(), func() { el.Close() }); !errors.Is(err, hub.ErrClosed) {
		t.Errorf("Wait with its log closed = %v after %v, want %v before its poll ended", err, took, hub.ErrClosed)
	}
	e, err := Connect(s.url(), opts)
	if err != nil {
		t.Fatal(err)
	}
	el2, err := e.Open(context.Background(), "w2", hub.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err, took := wait(el2, context.Background(), func() { e.Close() }); !errors.Is(err, hub.ErrClosed) {
		t.Errorf("Wait with its engine closed = %v after %v, want %v before its poll ended", err, took, hub.ErrClosed)
	}
	el2.Close()
	el3 := open(t, s, "w3", hub.Limits{}, opts)
	dctx, dcancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer dcancel()
	start := time.Now()
	if _, err := el3.Wait(dctx, 1<<40); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 20*time.Second {
		t.Errorf("Wait with a deadline of 300 ms = %v after %v, want %v", err, time.Since(start), context.DeadlineExceeded)
	}
}

// TestUnavailable: with the server gone, Connect and every request fail
// with hub.ErrUnavailable within the engine's timeout, and the same
// engine works again once the server is back.
func TestUnavailable(t *testing.T) {
	s := startRedis(t)
	ctx := context.Background()
	el := open(t, s, "down", hub.Limits{}, &Options{Timeout: time.Second})
	el.Append(ctx, "", "", []byte("before"))
	s.kill()
	if _, err := Connect(s.url(), &Options{Timeout: time.Second}); !errors.Is(err, hub.ErrUnavailable) {
		t.Errorf("Connect to a stopped server = %v, want %v", err, hub.ErrUnavailable)
	}
	start := time.Now()
	if _, err := el.Append(ctx, "k", "", []byte("during")); !errors.Is(err, hub.ErrUnavailable) {
		t.Errorf("Append with the server down = %v, want %v", err, hub.ErrUnavailable)
	}
	if _, _, err := el.Read(ctx, 0, make([]hub.Entry, 4)); !errors.Is(err, hub.ErrUnavailable) {
		t.Errorf("Read with the server down = %v, want %v", err, hub.ErrUnavailable)
	}
	if _, err := el.Wait(ctx, 5); !errors.Is(err, hub.ErrUnavailable) {
		t.Errorf("Wait with the server down = %v, want %v", err, hub.ErrUnavailable)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("three requests to a stopped server took %v: more than the engine's 1 s timeout each allows, even on a loaded machine", took)
	}
	s.start()
	seq, err := el.Append(ctx, "k", "", []byte("after"))
	if err != nil || seq != 2 {
		t.Errorf("Append once the server is back = %d, %v, want 2", seq, err)
	}
}
