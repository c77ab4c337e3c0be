package httpstream

import (
	"context"
	"errors"
	"sync"

	"github.com/pushwire/pushwire/hub"
)

// subscribe resolves the client's cursor against the log and subscribes
// there, before anything is sent to the client: whatever is published
// once the client has seen its connection open comes after the resolved
// cursor, and reaches it. reset is the reset to report first when the
// cursor is from another history (else nil). The subscription wakes its
// reader through hub.Notifier; a Log whose subscriptions do not is read
// through a goroutine (pumped).
func (h *Handler) subscribe(ctx context.Context, cur hub.Cursor) (sub hub.Notifier, resolved hub.Cursor, reset *hub.ResetError, err error) {
	_, resolved, err = h.log.ReadAfter(ctx, cur, nil)
	var gap hub.GapError
	var rs hub.ResetError
	switch {
	case err == nil, errors.Is(err, hub.ErrClosed):
	case errors.As(err, &gap):
		// The subscription reports it; the client stands at its cursor,
		// in the log's epoch.
		resolved = hub.AfterIn(resolved.Epoch(), gap.After)
	case errors.As(err, &rs):
		// Told once, at the start; the stream goes on from where the
		// reset says.
		reset = &rs
	default:
		return nil, resolved, nil, err
	}
	s, err := h.log.Subscribe(ctx, resolved)
	if err != nil {
		return nil, resolved, nil, err
	}
	if n, ok := s.(hub.Notifier); ok {
		return n, resolved, reset, nil
	}
	return newPumped(s), resolved, reset, nil
}

// pumped makes a hub.Notifier of a Subscription that is not one, for Logs
// other than *hub.Topic: a goroutine waits in Next and holds one result
// until TryNext takes it. It costs the goroutine per subscriber that the
// Notifier of a *hub.Topic saves.
type pumped struct {
	sub    hub.Subscription
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	have    bool // e, err hold a result of Next not taken yet
	e       hub.Entry
	err     error
	running bool   // the goroutine is in Next
	f       func() // the pending notification
	done    bool   // Next returned a final error, or Close was called
}

func newPumped(s hub.Subscription) *pumped {
	p := &pumped{sub: s}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p
}

// TryNext takes the result the goroutine read, or starts it.
func (p *pumped) TryNext(context.Context) (hub.Entry, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.have {
		e, err := p.e, p.err
		p.have, p.e, p.err = false, hub.Entry{}, nil
		return e, true, err
	}
	if !p.running && !p.done {
		p.running = true
		go p.pump()
	}
	return hub.Entry{}, false, nil
}

// pump reads one result of Next and notifies.
func (p *pumped) pump() {
	e, err := p.sub.Next(p.ctx)
	p.mu.Lock()
	p.running = false
	if p.done {
		p.mu.Unlock()
		return
	}
	p.have, p.e, p.err = true, e, err
	if err != nil && !errors.As(err, new(hub.GapError)) && !errors.As(err, new(hub.ResetError)) {
		p.done = true // final: nothing follows
	}
	f := p.f
	p.f = nil
	p.mu.Unlock()
	if f != nil {
		f()
	}
}

// Notify arranges for f to run when the goroutine has a result; a later
// Notify replaces f.
func (p *pumped) Notify(_ context.Context, f func()) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.have {
		return false, nil
	}
	if !p.running && !p.done {
		p.running = true
		go p.pump()
	}
	p.f = f
	return true, nil
}

// Next is the subscription's Next; the transports use TryNext.
func (p *pumped) Next(ctx context.Context) (hub.Entry, error) {
	for {
		e, ok, err := p.TryNext(ctx)
		if ok {
			return e, err
		}
		wake := make(chan struct{})
		if waiting, _ := p.Notify(ctx, func() { close(wake) }); !waiting {
			continue
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return hub.Entry{}, ctx.Err()
		}
	}
}

// Close ends the subscription and the goroutine.
func (p *pumped) Close() error {
	p.mu.Lock()
	p.done = true
	p.f = nil
	p.mu.Unlock()
	p.cancel()
	return p.sub.Close()
}
