package hub

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"testing/synctest"
)

// payload returns the test payload of the entry with sequence number seq:
// size bytes counting up from byte(seq).
func payload(seq Seq, size int) []byte {
	if size == 0 {
		return nil
	}
	p := make([]byte, size)
	for i := range p {
		p[i] = byte(int(seq) + i)
	}
	return p
}

// publishSizes publishes one entry per size, with payload(seq, size), and
// fails the test if the sequence numbers are not the next ones.
func publishSizes(t testing.TB, tp *Topic, typ string, sizes ...int) {
	t.Helper()
	for _, size := range sizes {
		_, head, _ := tp.ReadAfter(context.Background(), FromNow(), nil)
		want, _ := head.Seq()
		want++
		got, err := tp.Publish(context.Background(), typ, payload(want, size))
		if err != nil || got != want {
			t.Fatalf("Publish(%d bytes) = %d, %v, want %d, nil", size, got, err, want)
		}
	}
}

func repeat(size, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = size
	}
	return s
}

func seqs(entries []Entry) []Seq {
	s := make([]Seq, len(entries))
	for i, e := range entries {
		s[i] = e.Seq
	}
	return s
}

func seqRange(first, last Seq) []Seq {
	var s []Seq
	for q := first; q <= last; q++ {
		s = append(s, q)
	}
	return s
}

func equalSeqs(a, b []Seq) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

var readAfterTests = []struct {
	name     string
	opts     TopicOptions
	typ      string
	sizes    []int // payload size of each entry published, in order
	close    bool  // close the topic after publishing
	cursor   Cursor
	buf      int
	wantSeqs []Seq
	wantNext string
	wantErr  error     // matched with errors.Is, unless wantGap is set
	wantGap  *GapError // the exact GapError expected
}{
	{name: "empty topic from now", cursor: FromNow(), buf: 4, wantNext: "0"},
	{name: "empty topic after 0", cursor: After(0), buf: 4, wantNext: "0"},
	{name: "empty topic from oldest", cursor: FromOldest(), buf: 4, wantNext: "0"},
	{name: "empty topic ahead", cursor: After(1), buf: 4, wantNext: "0", wantErr: errReset},
	{name: "all from 0", sizes: repeat(1, 5), cursor: After(0), buf: 10, wantSeqs: seqRange(1, 5), wantNext: "5"},
	{name: "limited by buf", sizes: repeat(1, 5), cursor: After(0), buf: 2, wantSeqs: seqRange(1, 2), wantNext: "2"},
	{name: "middle", sizes: repeat(1, 5), cursor: After(3), buf: 10, wantSeqs: seqRange(4, 5), wantNext: "5"},
	{name: "at head", sizes: repeat(1, 5), cursor: After(5), buf: 10, wantNext: "5"},
	{name: "from now", sizes: repeat(1, 5), cursor: FromNow(), buf: 10, wantNext: "5"},
	{name: "from oldest", sizes: repeat(1, 5), cursor: FromOldest(), buf: 10, wantSeqs: seqRange(1, 5), wantNext: "5"},
	{name: "empty buf resolves", sizes: repeat(1, 5), cursor: FromOldest(), buf: 0, wantNext: "0"},
	{name: "ahead by one", sizes: repeat(1, 5), cursor: After(6), buf: 10, wantNext: "0", wantErr: errReset},
	{name: "ahead at max", sizes: repeat(1, 5), cursor: After(1<<64 - 1), buf: 10, wantNext: "0", wantErr: errReset},
	{name: "empty payloads", sizes: repeat(0, 3), cursor: After(1), buf: 10, wantSeqs: seqRange(2, 3), wantNext: "3"},

	{
		name: "gap by count from 0", opts: TopicOptions{MaxEntries: 3}, sizes: repeat(1, 5),
		cursor: After(0), buf: 10, wantNext: "2", wantGap: &GapError{After: 0, Oldest: 3, Lost: 2},
	},
	{
		name: "gap by count one lost", opts: TopicOptions{MaxEntries: 3}, sizes: repeat(1, 5),
		cursor: After(1), buf: 10, wantNext: "2", wantGap: &GapError{After: 1, Oldest: 3, Lost: 1},
	},
	{
		name: "no gap at oldest by count", opts: TopicOptions{MaxEntries: 3}, sizes: repeat(1, 5),
		cursor: After(2), buf: 10, wantSeqs: seqRange(3, 5), wantNext: "5",
	},
	{
		name: "from oldest after trim by count", opts: TopicOptions{MaxEntries: 3}, sizes: repeat(1, 5),
		cursor: FromOldest(), buf: 10, wantSeqs: seqRange(3, 5), wantNext: "5",
	},
	{
		name: "gap by bytes", opts: TopicOptions{MaxBytes: 10}, sizes: repeat(4, 4),
		cursor: After(1), buf: 10, wantNext: "2", wantGap: &GapError{After: 1, Oldest: 3, Lost: 1},
	},
	{
		name: "no gap at oldest by bytes", opts: TopicOptions{MaxBytes: 10}, sizes: repeat(4, 4),
		cursor: After(2), buf: 10, wantSeqs: seqRange(3, 4), wantNext: "4",
	},
	{
		name: "big entry evicts several", opts: TopicOptions{MaxBytes: 10}, sizes: []int{1, 1, 1, 1, 10},
		cursor: After(0), buf: 10, wantNext: "4", wantGap: &GapError{After: 0, Oldest: 5, Lost: 4},
	},
	{
		name: "exact fit by bytes", opts: TopicOptions{MaxBytes: 10}, sizes: []int{5, 5},
		cursor: After(0), buf: 10, wantSeqs: seqRange(1, 2), wantNext: "2",
	},
	{
		name: "type counts toward bytes", opts: TopicOptions{MaxBytes: 12}, typ: "ev", sizes: repeat(4, 3),
		cursor: After(0), buf: 10, wantNext: "1", wantGap: &GapError{After: 0, Oldest: 2, Lost: 1},
	},
	{
		name: "ring wraps", opts: TopicOptions{MaxEntries: 4}, sizes: repeat(2, 7),
		cursor: After(3), buf: 10, wantSeqs: seqRange(4, 7), wantNext: "7",
	},
	{
		name: "ring wraps partial buf", opts: TopicOptions{MaxEntries: 4}, sizes: repeat(2, 7),
		cursor: After(4), buf: 2, wantSeqs: seqRange(5, 6), wantNext: "6",
	},
	{
		name: "ring grows past its first size", opts: TopicOptions{MaxEntries: 100}, sizes: repeat(1, 40),
		cursor: After(10), buf: 100, wantSeqs: seqRange(11, 40), wantNext: "40",
	},
	{
		name: "closed with entries left", sizes: repeat(1, 5), close: true,
		cursor: After(3), buf: 10, wantSeqs: seqRange(4, 5), wantNext: "5",
	},
	{
		name: "closed at end", sizes: repeat(1, 5), close: true,
		cursor: After(5), buf: 10, wantNext: "5", wantErr: ErrClosed,
	},
	{
		name: "closed from now", sizes: repeat(1, 5), close: true,
		cursor: FromNow(), buf: 10, wantNext: "5", wantErr: ErrClosed,
	},
	{
		name: "closed gap first", opts: TopicOptions{MaxEntries: 2}, sizes: repeat(1, 5), close: true,
		cursor: After(0), buf: 10, wantNext: "3", wantGap: &GapError{After: 0, Oldest: 4, Lost: 3},
	},
}

func TestReadAfter(t *testing.T) {
	for _, tt := range readAfterTests {
		t.Run(tt.name, func(t *testing.T) {
			tp := NewTopic(&tt.opts)
			publishSizes(t, tp, tt.typ, tt.sizes...)
			if tt.close {
				tp.Close()
			}
			buf := make([]Entry, tt.buf)
			n, next, err := tp.ReadAfter(context.Background(), tt.cursor, buf)
			if tt.wantGap != nil {
				var gap GapError
				if !errors.As(err, &gap) || gap != *tt.wantGap {
					t.Fatalf("ReadAfter(%q) error = %v, want %v", tt.cursor, err, *tt.wantGap)
				}
			} else if !isErr(err, tt.wantErr) {
				t.Fatalf("ReadAfter(%q) error = %v, want %v", tt.cursor, err, tt.wantErr)
			}
			if got := seqs(buf[:n]); !equalSeqs(got, tt.wantSeqs) {
				t.Errorf("ReadAfter(%q) seqs = %v, want %v", tt.cursor, got, tt.wantSeqs)
			}
			if seqString(next) != tt.wantNext || next.Epoch() != tp.Epoch() {
				t.Errorf("ReadAfter(%q) next = %q, want %q", tt.cursor, next, tt.wantNext)
			}
			for _, e := range buf[:n] {
				want := payload(e.Seq, tt.sizes[e.Seq-1])
				if !bytes.Equal(e.Data, want) || e.Type != tt.typ || e.Time.IsZero() {
					t.Errorf("entry %d = {Type: %q, Data: %x, Time: %v}, want {Type: %q, Data: %x, Time: non-zero}",
						e.Seq, e.Type, e.Data, e.Time, tt.typ, want)
				}
			}
		})
	}
}

func TestGapErrorMessage(t *testing.T) {
	err := GapError{After: 2, Oldest: 10, Lost: 7}
	const want = "hub: gap: 7 entries after 2 are no longer held, oldest held is 10"
	if got := err.Error(); got != want {
		t.Errorf("GapError.Error() = %q, want %q", got, want)
	}
}

func TestPolicyString(t *testing.T) {
	tests := []struct {
		p    Policy
		want string
	}{
		{Reread, "reread"},
		{Drop, "drop"},
		{Policy(9), "Policy(9)"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("Policy(%d).String() = %q, want %q", uint8(tt.p), got, tt.want)
		}
	}
}

func TestPublishSequenceNumbers(t *testing.T) {
	tp := NewTopic(&TopicOptions{MaxEntries: 3})
	for want := Seq(1); want <= 10; want++ {
		got, err := tp.Publish(context.Background(), "", []byte("x"))
		if err != nil || got != want {
			t.Fatalf("Publish #%d = %d, %v, want %d, nil", want, got, err, want)
		}
	}
}

func TestPublishTooLarge(t *testing.T) {
	tests := []struct {
		name string
		typ  string
		size int
		err  error
	}{
		{"fits", "", 8, nil},
		{"fits with type", "ab", 6, nil},
		{"one byte over", "", 9, ErrTooLarge},
		{"type pushes over", "abc", 6, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := NewTopic(&TopicOptions{MaxBytes: 8})
			publishSizes(t, tp, "", 3) // entry 1
			_, err := tp.Publish(context.Background(), tt.typ, make([]byte, tt.size))
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("Publish(%q, %d bytes) error = %v, want %v", tt.typ, tt.size, err, tt.err)
			}
			// A rejected entry takes no sequence number and drops nothing.
			_, next, _ := tp.ReadAfter(context.Background(), FromNow(), nil)
			wantHead := "2"
			if tt.err != nil {
				wantHead = "1"
				if n, _, err := tp.ReadAfter(context.Background(), After(0), make([]Entry, 2)); n != 1 || err != nil {
					t.Errorf("ReadAfter(0) after rejected publish = %d, %v, want 1, nil", n, err)
				}
			}
			if seqString(next) != wantHead {
				t.Errorf("head after Publish = %q, want %q", next, wantHead)
			}
		})
	}
}

func TestPublishCopiesData(t *testing.T) {
	tp := NewTopic(nil)
	data := []byte("hello")
	tp.Publish(context.Background(), "", data)
	copy(data, "HELLO")
	buf := make([]Entry, 1)
	tp.ReadAfter(context.Background(), After(0), buf)
	if string(buf[0].Data) != "hello" {
		t.Errorf("entry 1 Data after the caller changed its slice = %q, want %q", buf[0].Data, "hello")
	}
	if cap(buf[0].Data) != len(buf[0].Data) {
		t.Errorf("cap(Data) = %d, want %d, so that append by a reader cannot write into shared memory", cap(buf[0].Data), len(buf[0].Data))
	}
}

// TestEntriesShared checks that readers share one copy of each payload.
func TestEntriesShared(t *testing.T) {
	tp := NewTopic(nil)
	tp.Publish(context.Background(), "", []byte("shared"))
	a, _ := tp.Subscribe(context.Background(), After(0))
	b, _ := tp.Subscribe(context.Background(), After(0))
	ea, errA := a.Next(context.Background())
	eb, errB := b.Next(context.Background())
	buf := make([]Entry, 1)
	tp.ReadAfter(context.Background(), After(0), buf)
	if errA != nil || errB != nil {
		t.Fatalf("Next = %v, %v, want nil, nil", errA, errB)
	}
	if &ea.Data[0] != &eb.Data[0] || &ea.Data[0] != &buf[0].Data[0] {
		t.Errorf("readers got payloads at %p, %p, %p, want one shared payload", &ea.Data[0], &eb.Data[0], &buf[0].Data[0])
	}
}

func TestTimeNonDecreasing(t *testing.T) {
	tp := NewTopic(nil)
	publishSizes(t, tp, "", repeat(1, 100)...)
	buf := make([]Entry, 100)
	n, _, _ := tp.ReadAfter(context.Background(), After(0), buf)
	for i := 1; i < n; i++ {
		if buf[i].Time.Before(buf[i-1].Time) {
			t.Fatalf("entry %d Time %v before entry %d Time %v", buf[i].Seq, buf[i].Time, buf[i-1].Seq, buf[i-1].Time)
		}
	}
}

func TestZeroTopic(t *testing.T) {
	var tp Topic
	publishSizes(t, &tp, "", repeat(1, defaultMaxEntries+5)...)
	buf := make([]Entry, 1)
	_, next, err := tp.ReadAfter(context.Background(), After(0), buf)
	want := GapError{After: 0, Oldest: 6, Lost: 5}
	var gap GapError
	if !errors.As(err, &gap) || gap != want || seqString(next) != "5" {
		t.Errorf("zero Topic: ReadAfter(0) = %q, %v, want %q, %v", next, err, "5", want)
	}
}

func TestWait(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		sizes  int
		close  bool
		cursor Cursor
		err    error
		blocks bool // Wait must block until one more entry is published
	}{
		{name: "entries after cursor", sizes: 3, cursor: After(1)},
		{name: "from oldest with entries", sizes: 3, cursor: FromOldest()},
		{name: "at head until publish", sizes: 3, cursor: After(3), blocks: true},
		{name: "from now until publish", sizes: 3, cursor: FromNow(), blocks: true},
		{name: "empty from oldest until publish", cursor: FromOldest(), blocks: true},
		{name: "ahead: a reset to read", sizes: 3, cursor: After(4)},
		{name: "another epoch: a reset to read", sizes: 3, cursor: AfterIn("other", 3)},
		{name: "closed at head", sizes: 3, close: true, cursor: After(3), err: ErrClosed},
		{name: "closed with entries left", sizes: 3, close: true, cursor: After(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tp := NewTopic(nil)
				publishSizes(t, tp, "", repeat(1, tt.sizes)...)
				if tt.close {
					tp.Close()
				}
				done := make(chan error, 1)
				go func() { done <- tp.Wait(ctx, tt.cursor) }()
				synctest.Wait()
				select {
				case err := <-done:
					if tt.blocks {
						t.Fatalf("Wait(%q) = %v before any publish, want it to block", tt.cursor, err)
					}
					if !isErr(err, tt.err) {
						t.Fatalf("Wait(%q) = %v, want %v", tt.cursor, err, tt.err)
					}
					return
				default:
					if !tt.blocks {
						t.Fatalf("Wait(%q) blocks, want it to return", tt.cursor)
					}
				}
				publishSizes(t, tp, "", 1)
				if err := <-done; err != nil {
					t.Fatalf("Wait(%q) after publish = %v, want nil", tt.cursor, err)
				}
			})
		})
	}
}

// TestLongPoll follows the long-polling pattern: read, wait when there is
// nothing, read again with the cursor returned by the previous read.
func TestLongPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		tp := NewTopic(nil)
		publishSizes(t, tp, "", 1, 1)
		buf := make([]Entry, 8)

		// First poll without a cursor: "" is FromNow.
		c, err := ParseCursor("")
		if err != nil {
			t.Fatal(err)
		}
		n, next, err := tp.ReadAfter(ctx, c, buf)
		if n != 0 || seqString(next) != "2" || err != nil {
			t.Fatalf("ReadAfter(%q) = %d, %q, %v, want 0, %q, nil", c, n, next, err, "2")
		}
		got := make(chan []Seq, 1)
		go func() {
			if err := tp.Wait(ctx, next); err != nil {
				t.Errorf("Wait(%q) = %v, want nil", next, err)
			}
			n, _, _ := tp.ReadAfter(ctx, next, buf)
			got <- seqs(buf[:n])
		}()
		synctest.Wait()
		publishSizes(t, tp, "", 1, 1)
		if s := <-got; len(s) == 0 || s[0] != 3 {
			t.Errorf("poll after Wait got %v, want entries from 3", s)
		}
	})
}

func TestWaitContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tp := NewTopic(nil)
		ctx, cancel := context.WithTimeout(context.Background(), 30e9)
		defer cancel()
		err := tp.Wait(ctx, FromNow())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Wait with a 30s timeout and no publish = %v, want %v", err, context.DeadlineExceeded)
		}
	})
}

func TestTopicClose(t *testing.T) {
	ctx := context.Background()
	tp := NewTopic(nil)
	publishSizes(t, tp, "", 1, 1, 1)
	sub, _ := tp.Subscribe(ctx, After(1))
	if err := tp.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	if err := tp.Close(); err != nil {
		t.Fatalf("second Close() = %v, want nil", err)
	}
	if seq, err := tp.Publish(ctx, "", []byte("late")); !errors.Is(err, ErrClosed) || seq != 0 {
		t.Errorf("Publish after Close = %d, %v, want 0, %v", seq, err, ErrClosed)
	}
	// Nothing published before the close is lost.
	for want := Seq(2); want <= 3; want++ {
		e, err := sub.Next(ctx)
		if err != nil || e.Seq != want {
			t.Fatalf("Next after Close = %d, %v, want %d, nil", e.Seq, err, want)
		}
	}
	for range 2 {
		if _, err := sub.Next(ctx); !errors.Is(err, ErrClosed) {
			t.Errorf("Next at end of closed topic = %v, want %v", err, ErrClosed)
		}
	}
	late, _ := tp.Subscribe(ctx, FromOldest())
	for want := Seq(1); want <= 3; want++ {
		if e, err := late.Next(ctx); err != nil || e.Seq != want {
			t.Fatalf("Next of subscription made after Close = %d, %v, want %d, nil", e.Seq, err, want)
		}
	}
	if _, err := late.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Next at end of closed topic = %v, want %v", err, ErrClosed)
	}
}

// TestCloseWakesReaders checks that Close wakes every blocked reader with
// ErrClosed, and that readers with entries left get them first.
func TestCloseWakesReaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		tp := NewTopic(nil)
		const readers = 5
		errs := make(chan error, 2*readers)
		for range readers {
			sub, _ := tp.Subscribe(ctx, FromNow())
			go func() {
				_, err := sub.Next(ctx)
				errs <- err
			}()
			go func() { errs <- tp.Wait(ctx, FromNow()) }()
		}
		synctest.Wait()
		if len(errs) != 0 {
			t.Fatalf("%d readers returned before Close, want all blocked", len(errs))
		}
		tp.Close()
		for range 2 * readers {
			if err := <-errs; !errors.Is(err, ErrClosed) {
				t.Errorf("blocked reader after Close = %v, want %v", err, ErrClosed)
			}
		}
	})
}

// errReset stands for any ResetError in test tables; see isErr.
var errReset = errors.New("test: any ResetError")

// isErr reports whether got is want: nil for nil, any ResetError for
// errReset, else as errors.Is.
func isErr(got, want error) bool {
	switch want {
	case nil:
		return got == nil
	case errReset:
		var r ResetError
		return errors.As(got, &r)
	}
	return errors.Is(got, want)
}

// seqString returns the sequence number of a concrete cursor in decimal,
// without its epoch, or the wire form of a symbolic one.
func seqString(c Cursor) string {
	if s, ok := c.Seq(); ok {
		return s.String()
	}
	return c.String()
}

// TestAppendKey: an in-memory topic appends an entry once per key while
// the entry is held, and forgets the key when the entry is dropped, so
// that its memory stays bounded by MaxEntries.
func TestAppendKey(t *testing.T) {
	ctx := context.Background()
	tp := NewTopic(&TopicOptions{MaxEntries: 2})
	s1, _ := tp.Append(ctx, "k", "", []byte("one"))
	if s, err := tp.Append(ctx, "k", "", []byte("one")); s != s1 || err != nil {
		t.Fatalf("Append(k) again = %d, %v, want %d, nil", s, err, s1)
	}
	tp.Publish(ctx, "", []byte("two"))
	tp.Publish(ctx, "", []byte("three")) // drops entry 1, and its key
	if s, err := tp.Append(ctx, "k", "", []byte("one")); s != 4 || err != nil {
		t.Fatalf("Append(k) after its entry was dropped = %d, %v, want 4, nil", s, err)
	}
	if len(tp.keys) != 1 || len(tp.keyOf) != 1 {
		t.Errorf("topic remembers %d keys, %d seqs, want 1 each", len(tp.keys), len(tp.keyOf))
	}
}
