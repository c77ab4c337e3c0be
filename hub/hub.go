package hub

import (
	"context"
	"fmt"
	"sync"
)

// Options configures a Hub. A nil *Options, and zero fields, mean the
// defaults documented on each field. The caller's struct is copied and
// never modified.
type Options struct {
	// MaxTopics bounds how many topics the hub holds. Zero or less means
	// 1024. Topics are never removed from a hub, so with default topic
	// limits the hub holds at most MaxTopics × 1 MiB of payload.
	MaxTopics int

	// Engine, if set, keeps the topics' logs: Topic opens each with
	// OpenTopic, so that every node on the same engine shares them.
	// Default nil: each topic is an in-memory log of this process.
	Engine Engine
}

// Hub is a set of named topics. The zero Hub is an empty, open hub with
// default options. A Hub must not be copied after first use. All methods
// are safe for concurrent use.
type Hub struct {
	maxTopics int
	engine    Engine

	mu     sync.Mutex
	topics map[string]*Topic
	closed bool
}

// New returns an empty hub. A nil opts means the defaults.
func New(opts *Options) *Hub {
	h := &Hub{}
	if opts != nil {
		h.maxTopics = opts.MaxTopics
		h.engine = opts.Engine
	}
	return h
}

// Topic returns the topic with the given name, creating it with opts (nil
// means the defaults) if the hub has no such topic yet; opts is ignored
// when the topic exists. Creating fails with an error wrapping
// ErrTooManyTopics when the hub holds MaxTopics topics, and with ErrClosed
// once the hub is closed. Existing topics are returned even then, so that
// readers can drain a closed topic.
//
// With Options.Engine, a new topic is opened with OpenTopic, bounded by a
// context.Background (engines bound their own requests by timeouts); its
// errors are returned as they are.
//
// The name is not interpreted; it may be any string. If names come from
// clients, check them first, or use Lookup, which never creates.
func (h *Hub) Topic(name string, opts *TopicOptions) (*Topic, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t, ok := h.topics[name]; ok {
		return t, nil
	}
	if h.closed {
		return nil, ErrClosed
	}
	limit := h.maxTopics
	if limit <= 0 {
		limit = defaultMaxTopics
	}
	if len(h.topics) >= limit {
		return nil, fmt.Errorf("%w: limit %d", ErrTooManyTopics, limit)
	}
	if h.topics == nil {
		h.topics = make(map[string]*Topic)
	}
	var t *Topic
	if h.engine != nil {
		var err error
		if t, err = OpenTopic(context.Background(), h.engine, name, opts); err != nil {
			return nil, err
		}
	} else {
		t = NewTopic(opts)
	}
	h.topics[name] = t
	return t, nil
}

// Lookup returns the topic with the given name, and whether it exists. It
// never creates a topic.
func (h *Hub) Lookup(name string) (*Topic, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.topics[name]
	return t, ok
}

// Close closes the hub and every topic in it (see Topic.Close): no topic
// can be created any more, publishing fails with ErrClosed, and readers get
// what was published before the close, then ErrClosed. Close always returns
// nil and may be called more than once.
func (h *Hub) Close() error {
	h.mu.Lock()
	h.closed = true
	topics := make([]*Topic, 0, len(h.topics))
	for _, t := range h.topics {
		topics = append(topics, t)
	}
	h.mu.Unlock()
	for _, t := range topics {
		t.Close()
	}
	return nil
}
