package hub

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
)

func TestHubTopic(t *testing.T) {
	ctx := context.Background()
	h := New(nil)
	a, err := h.Topic("a", &TopicOptions{MaxEntries: 2})
	if err != nil {
		t.Fatalf("Topic(%q) = %v, want nil", "a", err)
	}
	again, err := h.Topic("a", &TopicOptions{MaxEntries: 100})
	if err != nil || again != a {
		t.Fatalf("second Topic(%q) = %p, %v, want the first topic %p, nil", "a", again, err, a)
	}
	// The options of the first call stay: the log holds 2 entries.
	publishSizes(t, a, "", 1, 1, 1)
	var gap GapError
	if _, _, err := a.ReadAfter(ctx, After(0), make([]Entry, 4)); !errors.As(err, &gap) || gap.Oldest != 2 {
		t.Errorf("ReadAfter(0) on topic with MaxEntries 2 after 3 publishes = %v, want a gap with oldest 2", err)
	}
	b, _ := h.Topic("b", nil)
	if b == a {
		t.Fatalf("Topic(%q) returned the topic named %q", "b", "a")
	}
	// Sequence numbers are per topic.
	if seq, _ := b.Publish(ctx, "", nil); seq != 1 {
		t.Errorf("first Publish on topic %q = %d, want 1", "b", seq)
	}
	if got, ok := h.Lookup("a"); got != a || !ok {
		t.Errorf("Lookup(%q) = %p, %v, want %p, true", "a", got, ok, a)
	}
	if got, ok := h.Lookup("missing"); got != nil || ok {
		t.Errorf("Lookup(%q) = %p, %v, want nil, false", "missing", got, ok)
	}
	if _, ok := h.Lookup("missing"); ok {
		t.Errorf("Lookup(%q) created the topic", "missing")
	}
}

func TestHubMaxTopics(t *testing.T) {
	tests := []struct {
		name string
		opts *Options
		max  int
	}{
		{"default", nil, defaultMaxTopics},
		{"zero means default", &Options{}, defaultMaxTopics},
		{"three", &Options{MaxTopics: 3}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(tt.opts)
			for i := range tt.max {
				if _, err := h.Topic(fmt.Sprint(i), nil); err != nil {
					t.Fatalf("Topic #%d = %v, want nil", i, err)
				}
			}
			if _, err := h.Topic("one too many", nil); !errors.Is(err, ErrTooManyTopics) {
				t.Errorf("Topic #%d = %v, want %v", tt.max, err, ErrTooManyTopics)
			}
			if _, err := h.Topic("0", nil); err != nil {
				t.Errorf("Topic(%q) of a full hub = %v, want the existing topic", "0", err)
			}
		})
	}
}

func TestHubClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		h := New(nil)
		a, _ := h.Topic("a", nil)
		b, _ := h.Topic("b", nil)
		publishSizes(t, a, "", 1)
		sub, _ := b.Subscribe(ctx, FromNow())
		errc := make(chan error, 1)
		go func() {
			_, err := sub.Next(ctx)
			errc <- err
		}()
		synctest.Wait()
		if err := h.Close(); err != nil {
			t.Fatalf("Close() = %v, want nil", err)
		}
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Errorf("Next blocked on a topic of the hub = %v after Close, want %v", err, ErrClosed)
		}
		if _, err := a.Publish(ctx, "", nil); !errors.Is(err, ErrClosed) {
			t.Errorf("Publish after hub Close = %v, want %v", err, ErrClosed)
		}
		if _, err := h.Topic("c", nil); !errors.Is(err, ErrClosed) {
			t.Errorf("Topic(%q) after hub Close = %v, want %v", "c", err, ErrClosed)
		}
		// Existing topics can still be drained.
		got, err := h.Topic("a", nil)
		if err != nil || got != a {
			t.Fatalf("Topic(%q) after hub Close = %p, %v, want %p, nil", "a", got, err, a)
		}
		buf := make([]Entry, 2)
		if n, _, err := got.ReadAfter(ctx, After(0), buf); n != 1 || err != nil {
			t.Errorf("ReadAfter(0) after hub Close = %d, %v, want 1, nil", n, err)
		}
		if err := h.Close(); err != nil {
			t.Errorf("second Close() = %v, want nil", err)
		}
	})
}

func TestZeroHub(t *testing.T) {
	var h Hub
	tp, err := h.Topic("x", nil)
	if err != nil {
		t.Fatalf("Topic on zero Hub = %v, want nil", err)
	}
	if seq, err := tp.Publish(context.Background(), "", []byte("x")); seq != 1 || err != nil {
		t.Errorf("Publish = %d, %v, want 1, nil", seq, err)
	}
	h.Close()
}
