package cli

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// publishLimiter is a token bucket per client: each client may publish
// burst messages at once and rate messages per second on average. A
// client is an IPv4 address or an IPv6 /64 (what one subscriber is
// usually given), taken from the connection, not from headers a client
// could forge. Buckets that have filled up again hold nothing a fresh one
// would not, so they are swept away: the table holds only clients that
// published within the last burst/rate seconds.
type publishLimiter struct {
	rate  float64 // tokens per second
	burst float64
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[netip.Prefix]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was computed
}

// newPublishLimiter returns a limiter of rate messages per second with
// bursts of burst, or nil, which allows everything, when rate <= 0.
func newPublishLimiter(rate float64, burst int) *publishLimiter {
	if rate <= 0 {
		return nil
	}
	return &publishLimiter{rate: rate, burst: float64(max(burst, 1)), now: time.Now, buckets: make(map[netip.Prefix]*bucket)}
}

// clientKey returns the client a request comes from.
func clientKey(r *http.Request) netip.Prefix {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{} // one bucket for whatever has no address
	}
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// allow takes a token from the client's bucket. When the bucket is empty
// it returns false and how long until the next token.
func (l *publishLimiter) allow(r *http.Request) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	key := clientKey(r)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// sweep drops full buckets, at most once per refill period. Called with
// l.mu held.
func (l *publishLimiter) sweep(now time.Time) {
	period := time.Duration(l.burst / l.rate * float64(time.Second))
	if now.Sub(l.lastSweep) < period {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// rateLimitError is what a client over its publish rate is told.
type rateLimitError struct {
	rate       float64
	burst      float64
	retryAfter time.Duration
}

func (e *rateLimitError) Error() string {
	return fmt.Sprintf("publish rate limit: at most %g messages per second (bursts of %g); retry in %.1f s", e.rate, e.burst, e.retryAfter.Seconds())
}

// check takes a token for r, or returns a *rateLimitError.
func (l *publishLimiter) check(r *http.Request) error {
	ok, wait := l.allow(r)
	if ok {
		return nil
	}
	return &rateLimitError{rate: l.rate, burst: l.burst, retryAfter: wait}
}

// limitPOST answers a POST over the client's rate with 429 and
// Retry-After (RFC 9110 §10.2.3, RFC 6585 §4) before h sees it; h then
// knows the POST was counted. Other requests go to h as they are.
func (l *publishLimiter) limitPOST(h http.Handler) http.Handler {
	if l == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			if err := l.check(r); err != nil {
				secs := int(math.Ceil(err.(*rateLimitError).retryAfter.Seconds()))
				w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
				w.Header().Set("Cache-Control", "no-store")
				http.Error(w, err.Error(), http.StatusTooManyRequests)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
