package hub

import (
	"context"
	"sync"
	"time"
)

// MemoryEngine is the in-memory log behind the Engine interface: every
// handle opened from it, by any number of OpenTopic calls in the process,
// shares one in-memory log per topic name. It is what a Hub uses when no
// engine is given, made explicit for tests and for hub/enginetest; it
// shares nothing between processes, and a new MemoryEngine (a restarted
// process) starts every log in a new epoch.
//
// Idempotency keys are remembered for as long as their entry is held. The
// zero MemoryEngine is not usable; call NewMemoryEngine.
type MemoryEngine struct {
	mu     sync.Mutex
	topics map[string]*Topic
	closed bool
}

// compile-time check that *MemoryEngine implements Engine.
var _ Engine = (*MemoryEngine)(nil)

// NewMemoryEngine returns an engine with no logs.
func NewMemoryEngine() *MemoryEngine {
	return &MemoryEngine{topics: make(map[string]*Topic)}
}

// Open returns a handle on the named log, which is created with limits
// when it does not exist.
func (m *MemoryEngine) Open(ctx context.Context, topic string, limits Limits) (EngineLog, error) {
	l := &memLog{m: m, name: topic, limits: limits, done: make(chan struct{})}
	if _, err := l.topic(); err != nil {
		return nil, err
	}
	return l, nil
}

// Wipe drops every log, as deleting every stream of a shared engine
// would: the next use of a topic creates it anew, in a new epoch, and
// readers of the old logs are told so with a ResetError.
func (m *MemoryEngine) Wipe() {
	m.mu.Lock()
	old := m.topics
	m.topics = make(map[string]*Topic)
	m.mu.Unlock()
	for _, t := range old {
		t.Close()
	}
}

// Close drops every log; every handle then fails with ErrClosed.
func (m *MemoryEngine) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.Wipe()
	return nil
}

// memLog is a handle on one log of a MemoryEngine. It looks the log up at
// every call, so that it follows a Wipe into the new epoch.
type memLog struct {
	m      *MemoryEngine
	name   string
	limits Limits

	once sync.Once
	done chan struct{} // closed by Close
}

func (l *memLog) topic() (*Topic, error) {
	select {
	case <-l.done:
		return nil, ErrClosed
	default:
	}
	l.m.mu.Lock()
	defer l.m.mu.Unlock()
	if l.m.closed {
		return nil, ErrClosed
	}
	t := l.m.topics[l.name]
	if t == nil {
		t = NewTopic(&TopicOptions{MaxEntries: l.limits.MaxEntries, MaxBytes: l.limits.MaxBytes})
		l.m.topics[l.name] = t
	}
	return t, nil
}

func (l *memLog) Append(ctx context.Context, key, typ string, data []byte) (Seq, error) {
	for {
		t, err := l.topic()
		if err != nil {
			return 0, err
		}
		seq, err := t.appendLocal(key, typ, data)
		if err == ErrClosed {
			continue // wiped meanwhile: append to the new log
		}
		return seq, err
	}
}

func (l *memLog) Read(ctx context.Context, after Seq, buf []Entry) (int, Bounds, error) {
	t, err := l.topic()
	if err != nil {
		return 0, Bounds{}, err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	b := t.bounds()
	after = max(after, b.First-1)
	if after >= b.Last {
		return 0, b, nil
	}
	n, _, _ := t.readLocal(after, buf)
	return n, b, nil
}

// memPoll is how long Wait waits at most (EngineLog.Wait allows an early
// return with the current bounds). A log wiped between a caller's Read and
// its Wait is already the new one when Wait looks it up, and Wait cannot
// tell from after alone which epoch the caller means; returning after
// memPoll lets the caller compare epochs.
const memPoll = time.Second

func (l *memLog) Wait(ctx context.Context, after Seq) (Bounds, error) {
	t, err := l.topic()
	if err != nil {
		return Bounds{}, err
	}
	poll := time.NewTimer(memPoll)
	defer poll.Stop()
	for {
		t.mu.Lock()
		b := t.bounds()
		closed := t.closed
		if b.Last > after || closed {
			t.mu.Unlock()
			if closed {
				// Wiped: the caller sees the new epoch.
				return l.Bounds(ctx)
			}
			return b, nil
		}
		if t.notify == nil {
			t.notify = make(chan struct{})
		}
		ch := t.notify
		t.mu.Unlock()
		select {
		case <-ch:
		case <-poll.C:
			return l.Bounds(ctx)
		case <-ctx.Done():
			return Bounds{}, ctx.Err()
		case <-l.done:
			return Bounds{}, ErrClosed
		}
	}
}

func (l *memLog) Bounds(ctx context.Context) (Bounds, error) {
	t, err := l.topic()
	if err != nil {
		return Bounds{}, err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.bounds(), nil
}

func (l *memLog) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}
