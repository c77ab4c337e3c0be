// Package backoff computes the waits of clients that reconnect: an
// exponential backoff with jitter and a cap, shared by wsproto/reconnect
// and the hub client of httpstream.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is the state of one reconnecting client: how many attempts in a
// row failed. The zero value is not usable; set Min and Max.
type Backoff struct {
	Min, Max time.Duration
	// Jitter returns a number in [0, 1); nil means math/rand/v2.Float64.
	Jitter func() float64

	failures int
}

// Next returns the wait before the next attempt and counts one more
// failure: Min after the first, doubling after each further one up to Max,
// each drawn uniformly from [w/2, w) so that clients that lost the same
// server do not come back all at once ("equal jitter").
func (b *Backoff) Next() time.Duration {
	w := b.Min
	for i := 0; i < b.failures && w < b.Max; i++ {
		w *= 2
	}
	w = min(w, b.Max)
	b.failures++
	j := b.Jitter
	if j == nil {
		j = rand.Float64
	}
	return w/2 + time.Duration(j()*float64(w/2))
}

// Reset forgets the failures, after a connection that worked.
func (b *Backoff) Reset() { b.failures = 0 }

// Failures returns the failures counted since the last Reset.
func (b *Backoff) Failures() int { return b.failures }

// Sleep waits for d, or until ctx is done, and then returns ctx.Err(): the
// wait between two attempts of a client that stops when its context does.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	select {
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
