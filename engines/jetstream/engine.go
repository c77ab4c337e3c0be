package jetstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/pushwire/pushwire/hub"
)

// Options configures an Engine. A nil *Options, and zero fields, mean the
// defaults documented on each field. The caller's struct is copied.
type Options struct {
	// Memory keeps new streams in memory instead of files: faster, lost
	// when the server restarts (their logs then start a new epoch).
	// Default false: file storage, which survives a restart with its
	// epoch.
	Memory bool

	// Replicas is the number of replicas of new streams in a JetStream
	// cluster. Zero means 1.
	Replicas int

	// Duplicates is the de-duplication window of new streams: an append
	// retried with the same key within it is not stored again. Zero means
	// two minutes, JetStream's default.
	Duplicates time.Duration

	// Timeout bounds each request to JetStream on top of the caller's
	// ctx. Zero means 5 s.
	Timeout time.Duration

	// Poll is the longest a Wait goes without checking the stream's state,
	// so that a stream deleted and created again (a new epoch) is noticed
	// even when nothing is published. Zero means 2 s.
	Poll time.Duration
}

// Engine is a hub.Engine on NATS JetStream. Make one with Connect or New.
// It is safe for concurrent use.
type Engine struct {
	nc     *nats.Conn
	js     natsjs.JetStream
	opts   Options
	ownsNC bool

	mu     sync.Mutex
	closed bool
}

// compile-time check that *Engine implements hub.Engine.
var _ hub.Engine = (*Engine)(nil)

// Connect dials the NATS server at url (nats://HOST:PORT, or a
// comma-separated list of a cluster's servers) and returns an engine on
// it. The connection reconnects by itself, forever, while the engine is
// open; requests made meanwhile fail with errors wrapping
// hub.ErrUnavailable. Close closes the connection.
func Connect(url string, opts *Options) (*Engine, error) {
	nc, err := nats.Connect(url,
		nats.Name("pushwire"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(false),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: connecting to %s: %v", hub.ErrUnavailable, url, err)
	}
	e, err := New(nc, opts)
	if err != nil {
		nc.Close()
		return nil, err
	}
	e.ownsNC = true
	return e, nil
}

// New returns an engine on an open NATS connection, which the caller
// keeps: Close leaves it open.
func New(nc *nats.Conn, opts *Options) (*Engine, error) {
	js, err := natsjs.New(nc)
	if err != nil {
		return nil, err
	}
	e := &Engine{nc: nc, js: js}
	if opts != nil {
		e.opts = *opts
	}
	o := &e.opts
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Duplicates <= 0 {
		o.Duplicates = 2 * time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	return e, nil
}

// Open returns the log of a topic, creating its stream with limits if it
// does not exist.
func (e *Engine) Open(ctx context.Context, topic string, limits hub.Limits) (hub.EngineLog, error) {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, hub.ErrClosed
	}
	if limits.MaxEntries <= 0 {
		limits.MaxEntries = 1024
	}
	if limits.MaxBytes <= 0 {
		limits.MaxBytes = 1 << 20
	}
	l := &log{e: e, stream: streamName(topic), limits: limits, ring: make(chan struct{}, 1), done: make(chan struct{}),
		inbox: nats.NewInbox(), reqs: map[uint64]chan *nats.Msg{}}
	if _, err := l.ensure(ctx, ""); err != nil {
		return nil, err
	}
	replies, err := e.nc.Subscribe(l.inbox+".*", l.reply)
	if err != nil {
		return nil, unavailable(err)
	}
	l.replies = replies
	// The doorbell: the stream republishes what it stores to these
	// subjects (headers only, whatever the epoch), which wakes Wait.
	sub, err := e.nc.Subscribe(doorbellPrefix+l.stream+".*", l.rang)
	if err != nil {
		replies.Unsubscribe()
		return nil, unavailable(err)
	}
	l.sub = sub
	return l, nil
}

// Close closes the connection if Connect made it. Logs opened from the
// engine stop working; the streams stay.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	if e.ownsNC {
		e.nc.Close()
	}
	return nil
}

// unavailable wraps an error of the connection or of JetStream as
// hub.ErrUnavailable, keeping its text.
func unavailable(err error) error {
	if errors.Is(err, hub.ErrUnavailable) || errors.Is(err, hub.ErrClosed) {
		return err
	}
	return fmt.Errorf("%w: %w", hub.ErrUnavailable, err)
}
