package flushwrite

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pushwire/pushwire/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// recorder is a ResponseWriter that flushes and records write deadlines.
type recorder struct {
	*httptest.ResponseRecorder
	deadlines []time.Time
	failWith  error
}

func (r *recorder) SetWriteDeadline(t time.Time) error {
	r.deadlines = append(r.deadlines, t)
	return r.failWith
}

func TestWrite(t *testing.T) {
	rec := &recorder{ResponseRecorder: httptest.NewRecorder()}
	w := New(rec, time.Minute)
	start := time.Now()
	if err := w.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(nil); err != nil {
		t.Fatal(err)
	}
	if got := rec.Body.String(); got != "a" || !rec.Flushed {
		t.Errorf("wrote %q (flushed %v), want \"a\" flushed", got, rec.Flushed)
	}
	if len(rec.deadlines) != 2 {
		t.Fatalf("%d deadlines set, want one per Write", len(rec.deadlines))
	}
	for _, d := range rec.deadlines {
		if d.Before(start.Add(time.Minute)) || d.After(time.Now().Add(time.Minute)) {
			t.Errorf("deadline %v, want a minute after the write", d)
		}
	}
}

func TestNoTimeout(t *testing.T) {
	rec := &recorder{ResponseRecorder: httptest.NewRecorder()}
	w := New(rec, 0)
	if err := w.Write([]byte("a")); err != nil || len(rec.deadlines) != 0 {
		t.Errorf("Write with no timeout = %v and %d deadlines, want nil and none", err, len(rec.deadlines))
	}
}

// A ResponseWriter without deadlines writes unbounded, and is not asked
// again; another deadline error fails the write.
func TestDeadlineErrors(t *testing.T) {
	plain := httptest.NewRecorder() // no SetWriteDeadline: http.ErrNotSupported
	w := New(plain, time.Minute)
	if err := w.Write([]byte("a")); err != nil || plain.Body.String() != "a" {
		t.Errorf("Write without deadline support = %v, wrote %q; want nil, \"a\"", err, plain.Body.String())
	}
	failing := &recorder{ResponseRecorder: httptest.NewRecorder(), failWith: errors.New("connection closed")}
	w = New(failing, time.Minute)
	if err := w.Write([]byte("a")); err == nil || failing.Body.Len() != 0 {
		t.Errorf("Write whose deadline fails = %v, wrote %q; want the error and nothing written", err, failing.Body.String())
	}
	var _ http.ResponseWriter = failing
}
