package redis

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/pushwire/pushwire/hub"
)

// Options configures an Engine. A nil *Options, and zero fields, mean the
// defaults documented on each field. The caller's struct is copied.
type Options struct {
	// Timeout bounds each request to Redis on top of the caller's ctx.
	// Zero means 5 s.
	Timeout time.Duration

	// Poll is the longest a Wait blocks in Redis before it checks the
	// log's state again, so that a log removed by FLUSHALL is noticed
	// even when nothing is appended. Zero means 2 s.
	Poll time.Duration
}

// Engine is a hub.Engine on Redis Streams. Make one with Connect or New.
// It is safe for concurrent use.
type Engine struct {
	rdb  goredis.UniversalClient
	opts Options
	owns bool

	ctx    context.Context // done once Close is called
	cancel context.CancelFunc
}

// compile-time check that *Engine implements hub.Engine.
var _ hub.Engine = (*Engine)(nil)

// Connect connects to the Redis server at url and returns an engine on
// it, after a PING. The url is redis://HOST:PORT, with a password, a
// database number and options as goredis.ParseURL takes them, or
// rediss:// for TLS; for a Redis Cluster, more seed nodes follow as addr
// parameters (redis://HOST:PORT?addr=HOST2:PORT2&addr=HOST3:PORT3, as
// goredis.ParseClusterURL takes them). The client reconnects by itself
// while the engine is open; requests made while the server is down fail
// with errors wrapping hub.ErrUnavailable, and hub retries them. Close
// closes the client.
//
// The engine's requests end with their ctx (ContextTimeoutEnabled), are
// never retried by the client itself, nor are its dials (hub retries
// appends with their idempotency key, which a blind retry of an append
// without one would not have, and its tails retry reads with a back-off),
// and skip the client-name and maintenance handshakes that a plain Redis
// 6 or 7 refuses. go-redis reports failed dials through its own logger,
// to stderr unless the program sets another with goredis.SetLogger; the
// engine leaves that global alone.
func Connect(url string, opts *Options) (*Engine, error) {
	u, err := neturl.Parse(url)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	var rdb goredis.UniversalClient
	if u.Query().Has("addr") {
		o, err := goredis.ParseClusterURL(url)
		if err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		o.ContextTimeoutEnabled = true
		o.MaxRetries = -1
		o.DialerRetries = 1
		o.DisableIdentity = true
		o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
		rdb = goredis.NewClusterClient(o)
	} else {
		o, err := goredis.ParseURL(url)
		if err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		o.ContextTimeoutEnabled = true
		o.MaxRetries = -1
		o.DialerRetries = 1
		o.DisableIdentity = true
		o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
		rdb = goredis.NewClient(o)
	}
	e, err := New(rdb, opts)
	if err != nil {
		rdb.Close()
		return nil, err
	}
	e.owns = true
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.Timeout)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		e.Close()
		return nil, fmt.Errorf("%w: connecting to %s: %v", hub.ErrUnavailable, u.Host, err)
	}
	return e, nil
}

// New returns an engine on a client the caller keeps (Close leaves it
// open): a *goredis.Client, or a *goredis.ClusterClient for a Redis
// Cluster. Set ContextTimeoutEnabled in its options so that a request
// ends with its ctx, and MaxRetries to -1 unless every append carries an
// idempotency key.
func New(rdb goredis.UniversalClient, opts *Options) (*Engine, error) {
	switch rdb.(type) {
	case *goredis.Client, *goredis.ClusterClient:
	default:
		return nil, fmt.Errorf("redis: a %T is not supported, only *redis.Client and *redis.ClusterClient", rdb)
	}
	e := &Engine{rdb: rdb}
	if opts != nil {
		e.opts = *opts
	}
	if e.opts.Timeout <= 0 {
		e.opts.Timeout = 5 * time.Second
	}
	if e.opts.Poll <= 0 {
		e.opts.Poll = 2 * time.Second
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e, nil
}

// Open returns the log of a topic, creating it with limits if it does not
// exist (zero limits mean hub's defaults, 1,024 entries and 1 MiB). An
// existing log keeps the limits it was created with.
func (e *Engine) Open(ctx context.Context, topic string, limits hub.Limits) (hub.EngineLog, error) {
	if e.ctx.Err() != nil {
		return nil, hub.ErrClosed
	}
	if limits.MaxEntries <= 0 {
		limits.MaxEntries = 1024
	}
	if limits.MaxBytes <= 0 {
		limits.MaxBytes = 1 << 20
	}
	l := newLog(e, topic, limits)
	if _, err := l.Bounds(ctx); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Close stops every log opened from the engine and, if Connect made the
// client, closes it. The logs stay in Redis.
func (e *Engine) Close() error {
	if e.ctx.Err() != nil {
		return nil
	}
	e.cancel()
	if e.owns {
		return e.rdb.Close()
	}
	return nil
}

// waiterFor returns a new client of one connection to the server that
// holds key, for a log's blocking reads, with room in its read timeout
// for a block of poll.
func (e *Engine) waiterFor(ctx context.Context, key string, poll time.Duration) (*goredis.Client, error) {
	var base *goredis.Client
	switch c := e.rdb.(type) {
	case *goredis.Client:
		base = c
	case *goredis.ClusterClient:
		var err error
		if base, err = c.MasterForKey(ctx, key); err != nil {
			return nil, err
		}
	}
	o := *base.Options()
	o.PoolSize = 1
	o.MinIdleConns = 0
	o.MaxIdleConns = 1
	o.ReadTimeout = poll + e.opts.Timeout
	o.ContextTimeoutEnabled = true
	o.MaxRetries = -1
	return goredis.NewClient(&o), nil
}

// unavailable classifies an error of a request: a failure to reach the
// server, and the Redis error replies that a retry may cure (a server
// loading its data set after a restart, a busy script, a failover, a
// cluster moving slots, memory or clients at their limit), wrap
// hub.ErrUnavailable; other error replies are returned as they are.
func unavailable(err error) error {
	if errors.Is(err, hub.ErrUnavailable) || errors.Is(err, hub.ErrClosed) {
		return err
	}
	var re goredis.Error
	if errors.As(err, &re) {
		_, moved := goredis.IsMovedError(err)
		_, ask := goredis.IsAskError(err)
		if !(moved || ask || goredis.IsLoadingError(err) || goredis.IsReadOnlyError(err) ||
			goredis.IsClusterDownError(err) || goredis.IsTryAgainError(err) || goredis.IsMasterDownError(err) ||
			goredis.IsMaxClientsError(err) || goredis.IsOOMError(err) || goredis.IsNoReplicasError(err) ||
			goredis.HasErrorPrefix(err, "BUSY")) {
			return fmt.Errorf("redis: %w", err)
		}
	}
	return fmt.Errorf("%w: %w", hub.ErrUnavailable, err)
}
