package h2stream

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

var (
	// ErrClosed is returned by the I/O of a closed Conn.
	ErrClosed = fmt.Errorf("h2stream: stream closed: %w", net.ErrClosed)
	// errWriteReset is wrapped in the error of a Write that its deadline
	// interrupted, and returned by every later Write.
	errWriteReset = errors.New("h2stream: stream reset: a write outlived its deadline")
)

// Sizes of the Conn's read buffer.
const (
	smallRead = 512      // the buffer of its own, for the short reads of an idle reader
	bigRead   = 16 << 10 // the pooled buffer for larger reads
)

var readPool = sync.Pool{New: func() any { b := make([]byte, bigRead); return &b }}

// Conn is a net.Conn over one HTTP/2 stream (see the package comment).
type Conn struct {
	body          io.ReadCloser // the peer's half
	local, remote net.Addr

	// Set by Accept and Dial before the Conn is used.
	write func(p []byte) (int, error) // sends p on our half and flushes it
	reset func()                      // resets the stream, waking a blocked write
	end   func()                      // ends the stream, once no I/O is in flight

	closing chan struct{} // closed when Close begins: wakes Read and the pump
	done    chan struct{} // closed when Close has ended the stream

	// Read side. rmu serializes Read; between handing a buffer to the pump
	// (reads) and taking its answer (got), the pump owns it.
	rmu     sync.Mutex
	reads   chan []byte     // to the pump; holds at most one buffer
	got     chan readResult // from the pump; holds at most one answer
	pumping bool            // the pump goroutine was started
	pending bool            // the pump owns buf
	flowing bool            // the last body read filled its buffer
	buf     []byte          // buf[off:n] is read from the body and not yet returned
	off, n  int
	pooled  *[]byte // the pooled buffer buf is, or nil
	small   [smallRead]byte
	rerr    error // the body's error, returned once buf is drained
	rdl     deadline

	// Write side. wmu serializes Write, and Close takes it to wait for the
	// write in flight. mu guards the flags.
	wmu     sync.Mutex
	mu      sync.Mutex
	closed  bool
	writing bool // a write is in flight
	wreset  bool // the write deadline reset the stream
	wdl     deadline
}

type readResult struct {
	n   int
	err error
}

func newConn(body io.ReadCloser, local, remote net.Addr) *Conn {
	c := &Conn{
		body:    body,
		local:   local,
		remote:  remote,
		closing: make(chan struct{}),
		done:    make(chan struct{}),
		reads:   make(chan []byte, 1),
		got:     make(chan readResult, 1),
	}
	c.rdl.init(nil)
	c.wdl.init(c.writeDeadlinePassed)
	return c
}

// pump performs the body reads that Read hands it, until the Conn closes.
func (c *Conn) pump() {
	for {
		select {
		case b := <-c.reads:
			n, err := c.body.Read(b)
			c.got <- readResult{n, err}
		case <-c.closing:
			return
		}
	}
}

// Read reads the peer's data. It returns os.ErrDeadlineExceeded when the
// read deadline passes first, leaving the stream usable; the body read in
// progress then delivers its bytes to the next Read.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if c.off < c.n {
			n := copy(p, c.buf[c.off:c.n])
			c.off += n
			if c.off == c.n {
				c.releaseBuffer()
			}
			return n, nil
		}
		if isClosed(c.closing) {
			return 0, ErrClosed
		}
		if c.rerr != nil {
			return 0, c.rerr
		}
		if len(p) == 0 {
			return 0, nil
		}
		passed := c.rdl.channel()
		if !c.pending {
			if isClosed(passed) {
				return 0, os.ErrDeadlineExceeded
			}
			// The small buffer unless data flows (the last read filled
			// its buffer): a stream waiting for a peer that sends
			// little holds no pooled buffer.
			if len(p) <= smallRead || !c.flowing {
				c.buf = c.small[:min(len(p), smallRead)]
			} else {
				c.pooled = readPool.Get().(*[]byte)
				c.buf = (*c.pooled)[:min(len(p), bigRead)]
			}
			if !c.pumping {
				c.pumping = true
				go c.pump()
			}
			c.pending = true
			c.reads <- c.buf
		}
		select {
		case r := <-c.got:
			c.pending = false
			c.flowing = r.n == len(c.buf)
			c.off, c.n, c.rerr = 0, r.n, r.err
			if c.n == 0 {
				c.releaseBuffer()
			}
		case <-passed:
			return 0, os.ErrDeadlineExceeded
		case <-c.closing:
			return 0, ErrClosed
		}
	}
}

// releaseBuffer puts the pooled read buffer back once it is drained.
func (c *Conn) releaseBuffer() {
	if c.pooled != nil {
		readPool.Put(c.pooled)
		c.pooled = nil
	}
	c.buf, c.off, c.n = nil, 0, 0
}

// Write sends p on our half of the stream and returns once it is handed to
// HTTP/2.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	var err error
	switch {
	case c.closed:
		err = ErrClosed
	case c.wreset:
		err = errWriteReset
	case isClosed(c.wdl.channel()):
		err = os.ErrDeadlineExceeded
	}
	if err != nil {
		c.mu.Unlock()
		return 0, err
	}
	c.writing = true
	c.mu.Unlock()
	n, err := c.write(p)
	c.mu.Lock()
	c.writing = false
	wreset, closed := c.wreset, c.closed
	c.mu.Unlock()
	if err != nil {
		switch {
		case wreset:
			err = fmt.Errorf("%w (%w)", os.ErrDeadlineExceeded, errWriteReset)
		case closed:
			err = ErrClosed
		}
	}
	return n, err
}

// writeDeadlinePassed resets the stream under a write in flight when the
// write deadline passes.
func (c *Conn) writeDeadlinePassed() {
	c.mu.Lock()
	reset := c.writing && !c.closed && !c.wreset
	if reset {
		c.wreset = true
	}
	c.mu.Unlock()
	if reset {
		c.reset()
	}
}

// Close ends the stream: blocked reads return, a write in flight is
// interrupted, and once it has returned the stream is ended. Done is
// closed when Close returns. Closing again returns ErrClosed, once the
// first Close has ended the stream: a handler that closes the Conn and
// returns must not return while another goroutine's Close (the one the
// end of the request's context starts, say) still resets the stream
// through the ResponseWriter.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.done
		return ErrClosed
	}
	c.closed = true
	writing := c.writing
	c.mu.Unlock()
	close(c.closing)
	c.rdl.stop()
	c.wdl.stop()
	c.body.Close()
	if writing {
		c.reset()
	}
	// On the server the handler must not return while a write is inside
	// the ResponseWriter: end the stream once the write in flight has
	// returned.
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.end()
	close(c.done)
	return nil
}

// Done returns a channel that is closed once Close has ended the stream.
// An HTTP handler that accepted the stream waits for it before it returns.
func (c *Conn) Done() <-chan struct{} { return c.done }

// LocalAddr returns the local address of the HTTP/2 connection.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr returns the remote address of the HTTP/2 connection.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the read and the write deadline.
func (c *Conn) SetDeadline(t time.Time) error {
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}

// SetReadDeadline sets the time after which a waiting or later Read
// returns os.ErrDeadlineExceeded; the zero time removes it.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.rdl.set(t)
	return nil
}

// SetWriteDeadline sets the time after which Writes fail; a Write in
// flight when it passes resets the stream. The zero time removes it.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.wdl.set(t)
	return nil
}

// ClientConn is the Conn of a stream that Dial opened, which can end its
// half of the stream and keep reading.
type ClientConn struct {
	*Conn
	closeWrite func() error
}

// CloseWrite ends the request body, which sends END_STREAM.
func (c *ClientConn) CloseWrite() error { return c.closeWrite() }

// addr is a net.Addr given as a string, as net/http gives
// Request.RemoteAddr.
type addr string

func (a addr) Network() string { return "tcp" }
func (a addr) String() string  { return string(a) }

// deadline is a point in time whose passing closes a channel, which
// waiting calls select on. A channel is replaced only after it was closed,
// so a call waiting on one learns of any later deadline as well.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	passed chan struct{}
	onPass func() // called, without mu, after passed is closed; may be nil
}

func (d *deadline) init(onPass func()) {
	d.passed = make(chan struct{})
	d.onPass = onPass
}

// channel returns the channel closed when the deadline passes.
func (d *deadline) channel() chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.passed
}

// set moves the deadline to t; the zero time removes it.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	d.stopLocked()
	if isClosed(d.passed) {
		d.passed = make(chan struct{})
	}
	passedNow := false
	if !t.IsZero() {
		if wait := time.Until(t); wait > 0 {
			ch := d.passed
			d.timer = time.AfterFunc(wait, func() {
				close(ch)
				if d.onPass != nil {
					d.onPass()
				}
			})
		} else {
			close(d.passed)
			passedNow = true
		}
	}
	d.mu.Unlock()
	if passedNow && d.onPass != nil {
		d.onPass()
	}
}

// stop removes the deadline's timer.
func (d *deadline) stop() {
	d.mu.Lock()
	d.stopLocked()
	d.mu.Unlock()
}

func (d *deadline) stopLocked() {
	if d.timer != nil && !d.timer.Stop() {
		// The timer fired: its function closes passed, if it has not yet.
		<-d.passed
	}
	d.timer = nil
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
