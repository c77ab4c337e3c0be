package wsproto

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/pushwire/pushwire/wsproto/frame"
)

// heartbeat pings the peer every interval and fails the connection when a
// pong does not follow within timeout (AcceptOptions.PingInterval,
// DialOptions.PingInterval). It is one runtime timer per connection, not a
// goroutine: the timer's function runs only when it fires, to send a ping
// or to give up on the peer.
type heartbeat struct {
	c        *Conn
	interval time.Duration
	timeout  time.Duration
	t        *time.Timer

	mu      sync.Mutex
	waiting bool // a ping is out and no pong came since
	stopped bool
}

// startHeartbeat starts pinging c; the heartbeat stops when c closes.
func (c *Conn) startHeartbeat(interval, timeout time.Duration) {
	if timeout <= 0 {
		timeout = interval
	}
	h := &heartbeat{c: c, interval: interval, timeout: timeout}
	h.mu.Lock()
	h.t = time.AfterFunc(interval, h.fire)
	h.mu.Unlock()
	c.hb = h
	c.onClose(h.stop)
}

// fire runs when the timer expires: after an interval it sends a ping and
// waits for the pong; after a timeout with no pong it closes the connection.
func (h *heartbeat) fire() {
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return
	}
	if h.waiting {
		h.stopped = true
		h.mu.Unlock()
		h.c.peerDead(h.timeout)
		return
	}
	h.waiting = true
	h.t.Reset(h.timeout)
	h.mu.Unlock()
	// RFC 6455 §5.5.2: a ping "may serve either as a keepalive or as a
	// means to verify that the remote endpoint is still responsive". The
	// write may wait behind a message being sent; the timer set above
	// bounds the wait, whatever holds it up.
	h.c.writeControl(context.Background(), frame.OpPing, nil)
}

// pong records a pong from the peer (RFC 6455 §5.5.3: a pong answers a
// ping, or is an unsolicited "unidirectional heartbeat"; either shows the
// peer alive) and schedules the next ping an interval later.
func (h *heartbeat) pong() {
	h.mu.Lock()
	if h.waiting && !h.stopped {
		h.waiting = false
		h.t.Reset(h.interval)
	}
	h.mu.Unlock()
}

// stop ends the heartbeat when the connection closes.
func (h *heartbeat) stop() {
	h.mu.Lock()
	h.stopped = true
	h.t.Stop()
	h.mu.Unlock()
}

// peerDead closes a connection whose peer did not answer a ping in time.
// No close frame is sent: a peer that does not answer pings does not read
// either. Reads and writes then return an error that matches a CloseError
// with code 1006 (RFC 6455 §7.1.5: closed without a close frame) and
// os.ErrDeadlineExceeded.
func (c *Conn) peerDead(timeout time.Duration) {
	c.end(fmt.Errorf("%w: wsproto: no pong within %v of a ping: %w", frame.CloseError{Code: frame.CloseAbnormal}, timeout, os.ErrDeadlineExceeded), closeNow)
}
