package wsproto

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushwire/pushwire/internal/wsidle"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// MessageType is the type of a data message: text or binary (RFC 6455 §5.6).
type MessageType byte

// Message types. Their values are the opcodes of the first frame.
const (
	MessageText   MessageType = MessageType(frame.OpText)
	MessageBinary MessageType = MessageType(frame.OpBinary)
)

// String returns "text" or "binary".
func (t MessageType) String() string {
	switch t {
	case MessageText:
		return "text"
	case MessageBinary:
		return "binary"
	}
	return fmt.Sprintf("MessageType(%d)", byte(t))
}

// State is the state of a connection, named as the browser's
// WebSocket.readyState (WHATWG WebSockets §"readyState").
type State int32

// Connection states. A Conn exists only after its opening handshake, so it
// starts open; the numbers are those of readyState.
const (
	StateOpen    State = iota + 1 // messages flow both ways
	StateClosing                  // a close frame was sent or received; the closing handshake is under way
	StateClosed                   // the TCP connection is closed
)

// String returns the readyState name: "OPEN", "CLOSING" or "CLOSED".
func (s State) String() string {
	switch s {
	case StateOpen:
		return "OPEN"
	case StateClosing:
		return "CLOSING"
	case StateClosed:
		return "CLOSED"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// The defaults of the options, documented on their fields.
const (
	defaultReadLimit        = 1 << 20
	defaultCloseTimeout     = 5 * time.Second
	defaultHandshakeTimeout = 30 * time.Second
	defaultCompressionMin   = 128
)

// connConfig is what Accept and Dial pass to newConn.
type connConfig struct {
	client       bool
	subprotocol  string
	extensions   string
	readLimit    int64
	closeTimeout time.Duration
	onPing       func([]byte)
	onPong       func([]byte)
	buffered     []byte         // bytes read past the handshake: the first frames
	deflate      *deflateParams // permessage-deflate, if negotiated
	pingInterval time.Duration  // heartbeat; 0: none
	pongTimeout  time.Duration
}

// Conn is a WebSocket connection, after a successful opening handshake.
//
// Any number of goroutines may write at once: Write, Writer, WritePrepared,
// Ping and Close are serialized inside, and frames of different messages never
// interleave. Reading is for one goroutine at a time: Read, Reader and the
// io.Reader it returns must not be called concurrently with each other.
// Control frames (ping, pong, close) are processed while a read is in
// progress, so an application that expects pings or a close from the peer,
// or that calls Ping, keeps a goroutine reading.
//
// An error from reading or writing that is a protocol violation by the peer,
// an I/O error, a close frame, or a context ending in the middle of a message
// ends the connection; every later call returns that error again. A context
// that ends while a read waits for the next message, or before a write has
// sent any byte, leaves the connection usable.
type Conn struct {
	// The fields are grouped so that the struct has little padding: an
	// idle connection is mostly its Conn.
	nc           net.Conn
	subprotocol  string
	extensions   string
	readLimit    atomic.Int64
	closeTimeout time.Duration
	onPing       func([]byte)
	onPong       func([]byte)
	// z is permessage-deflate, or nil: z.d is guarded by wmsg, z.i by
	// rlock. (Here, on the cache line a Group's Broadcast reads with
	// client, sentClose and netClosed.)
	z          *compression
	state      atomic.Int32
	rsvAllowed byte
	client     bool
	writevs    bool // nc writes net.Buffers with one writev
	batch      bool // replies are coalesced (coalesce.go); guarded by rlock

	mu          sync.Mutex
	sentClose   atomic.Bool // a close frame was written (set holding wframe)
	lingering   atomic.Bool // failed: the close frame is out; TCP closes after a bounded drain
	netClosed   atomic.Bool // nc is closed (set under mu)
	errSet      atomic.Bool // err is set (set under mu): ended's fast path
	recvClose   bool        // a close frame was received; guarded by mu
	readEnded   bool        // the peer's close frame arrived or reading ended; guarded by mu
	err         error       // the error that ended the connection; guarded by mu
	waits       *connWaits  // made on demand, guarded by mu (closedChan, closeRecvChan)
	pingWaiters map[string][]chan struct{}
	closeHooks  []*closeHook // run once nc is closed; guarded by mu
	hb          *heartbeat   // or nil
	member      *member      // the connection's place in its Group, or nil
	idle        wsidle.State // parking between messages (idle.go)

	// Read side, owned by the holder of rlock.
	rlock     connLock
	rbuf      []byte // rbuf[rpos:rend] is buffered input
	rpos      int
	rend      int
	rpool     *[]byte // the pooled buffer rbuf points into, or nil for rsmall
	rsmall    [smallReadSize]byte
	frameLeft int64   // unread payload bytes of the current data frame
	msgLen    int64   // bytes of the current message so far
	frameMask [4]byte // masking key of the current data frame
	maskPos   uint8   // position in frameMask of the next payload byte
	flowing   bool    // the last read filled the space it was given
	masked    bool
	frameFin  bool
	inMessage bool // a data message was started and its FIN frame not yet read
	msgType   MessageType
	// msgCompressed: the current message has RSV1 set (RFC 7692 §6) and
	// its payload goes through z.i.
	msgCompressed bool
	utf8          frame.UTF8Validator
	rwatch        ctxWatch
	mr            messageReader

	// Write side.
	wmsg   connLock // held while a data message is being written
	wframe connLock // held while one frame is being written
	whdr   [frame.MaxHeaderSize]byte
	wheld  atomic.Int32 // batchOff, batchHold or batchLast (coalesce.go)
	wpend  *[]byte      // frames held back, from writePool, or nil; guarded by wframe
	wwatch ctxWatch
	rng    *rand.ChaCha8 // masking keys of a client; guarded by wframe
	mw     messageWriter
}

const (
	smallReadSize = 120      // the read buffer of an idle connection: the Conn and the allocator's 8-byte header fill the 768-byte size class
	bigReadSize   = 16 << 10 // the pooled read buffer while data flows
	writeChunk    = 32 << 10 // largest pooled write buffer
	copyWriteMax  = 2 << 10  // payloads up to this size are copied behind the header
	directReadMin = 4 << 10  // payload reads at least this long skip the buffer
	maxCtrlFrame  = 2 + 4 + 125
)

var (
	readPool  = sync.Pool{New: func() any { b := make([]byte, bigReadSize); return &b }}
	writePool = sync.Pool{New: func() any { b := make([]byte, writeChunk+frame.MaxHeaderSize); return &b }}
)

func newConn(nc net.Conn, cfg connConfig) *Conn {
	c := &Conn{
		nc:           nc,
		client:       cfg.client,
		subprotocol:  cfg.subprotocol,
		extensions:   cfg.extensions,
		closeTimeout: cfg.closeTimeout,
		onPing:       cfg.onPing,
		onPong:       cfg.onPong,
	}
	if c.closeTimeout <= 0 {
		c.closeTimeout = defaultCloseTimeout
	}
	switch {
	case cfg.readLimit == 0:
		c.readLimit.Store(defaultReadLimit)
	case cfg.readLimit < 0:
		c.readLimit.Store(-1)
	default:
		c.readLimit.Store(cfg.readLimit)
	}
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
		c.writevs = true
	}
	if c.client {
		var seed [32]byte
		crand.Read(seed[:])
		c.rng = rand.NewChaCha8(seed)
	}
	c.rbuf = c.rsmall[:]
	if n := len(cfg.buffered); n > 0 {
		if n > len(c.rsmall) {
			c.takeBigBuffer(n)
		}
		c.rend = copy(c.rbuf, cfg.buffered)
	}
	if p := cfg.deflate; p != nil {
		// RFC 7692 §6: permessage-deflate "allocates the RSV1 bit" as the
		// "Per-Message Compressed" bit.
		c.rsvAllowed = frame.Rsv1
		c.z = newCompression(c, p)
	}
	c.mr.c = c
	c.mw.c = c
	c.rwatch.c = c
	c.wwatch.c, c.wwatch.write = c, true
	c.state.Store(int32(StateOpen))
	if cfg.pingInterval > 0 {
		c.startHeartbeat(cfg.pingInterval, cfg.pongTimeout)
	}
	return c
}

// Subprotocol returns the subprotocol the handshake selected, or "".
func (c *Conn) Subprotocol() string { return c.subprotocol }

// Extensions returns the Sec-WebSocket-Extensions value the handshake
// agreed on, or "".
func (c *Conn) Extensions() string { return c.extensions }

// State returns the connection's state.
func (c *Conn) State() State { return State(c.state.Load()) }

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the remote network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// SetReadLimit sets the largest message, in bytes, that reads accept; n < 0
// removes the limit (only for peers you trust). It applies from the next
// frame on. A message over the limit fails the connection with close code
// 1009 (RFC 6455 §7.4.1) before its payload is read.
func (c *Conn) SetReadLimit(n int64) {
	if n < 0 {
		n = -1
	}
	c.readLimit.Store(n)
}

// ReadLimit returns the current read limit; -1 means none.
func (c *Conn) ReadLimit() int64 { return c.readLimit.Load() }

// setErr records the error that ended the connection, keeping the first.
// It returns the recorded error. Alone it ends nothing: end does that; a
// Group records the slow-consumer error ahead of the close frame it queues.
func (c *Conn) setErr(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		c.errSet.Store(true)
	}
	return c.err
}

// ended returns the error that ended the connection, or nil.
func (c *Conn) ended() error {
	if !c.errSet.Load() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// closedErr is what a call on a closed connection returns: the error that
// ended it, or errConnClosed.
func (c *Conn) closedErr() error {
	if err := c.ended(); err != nil {
		return err
	}
	return errConnClosed
}

// ending is how end closes the TCP connection.
type ending int

const (
	// closeNow closes it at once: the stream is broken (an I/O error, a
	// frame or message cut short), the application abandons it, or the
	// peer is dead or too slow.
	closeNow ending = iota
	// closeFail fails the connection (RFC 6455 §7.1.7): a close frame
	// with the code the error calls for (§7.4.1), then the TCP connection
	// closes once the peer had a bounded time to read it (lingerClose).
	closeFail
	// closeAnswer completes the closing handshake the peer's close frame
	// started (RFC 6455 §5.5.1): the close frame is echoed, then the
	// server closes the TCP connection and the client waits for that
	// (§7.1.1, finishClose). The reader calls it, holding rlock.
	closeAnswer
	// closeLeave closes nothing: a connection that failed is already
	// lingering, and its TCP connection closes when that ends.
	closeLeave
)

// end is the one path by which a connection ends, whatever ends it. It
// records err as the error every later call returns (the first one
// recorded stays, and end returns it); sends the close frame that how
// calls for, unless one was sent; wakes a Close waiting for the peer's
// close frame; and closes the TCP connection as how says, which runs the
// close hooks once. It may be called from any goroutine, more than once.
func (c *Conn) end(err error, how ending) error {
	cause := err
	c.mu.Lock()
	if c.err == nil {
		c.err = err
		c.errSet.Store(true)
	}
	err = c.err
	if how == closeAnswer {
		c.recvClose = true
	}
	c.mu.Unlock()
	switch how {
	case closeFail:
		code := closeCodeFor(err)
		reason := closeReason(code)
		if errors.Is(err, ErrInvalidCompressed) {
			reason = "invalid compressed data"
		}
		c.sendClose(code, reason)
	case closeAnswer:
		c.state.Store(int32(StateClosing))
		// RFC 6455 §5.5.1: "If an endpoint receives a Close frame and
		// did not previously send a Close frame, the endpoint MUST send
		// a Close frame in response. (When sending a Close frame in
		// response, the endpoint typically echos the status code it
		// received.)"
		var ce frame.CloseError
		errors.As(cause, &ce)
		c.sendClose(ce.Code, "")
	}
	c.mu.Lock()
	if !c.readEnded {
		c.readEnded = true
		if c.waits != nil && c.waits.closeRecv != nil {
			close(c.waits.closeRecv)
		}
	}
	c.mu.Unlock()
	switch how {
	case closeNow:
		c.closeNet()
	case closeFail:
		c.lingerClose()
	case closeAnswer:
		c.finishClose()
	}
	return err
}

// sendClose sends a close frame with code and reason, within the close
// timeout, unless one was sent.
func (c *Conn) sendClose(code frame.CloseCode, reason string) {
	if c.sentClose.Load() {
		return
	}
	var b [2 + frame.MaxCloseReason]byte
	payload, _ := frame.AppendClosePayload(b[:0], code, reason)
	ctx, cancel := context.WithTimeout(context.Background(), c.closeTimeout)
	c.writeControl(ctx, frame.OpClose, payload)
	cancel()
}

// closeNet closes the TCP connection once and runs the close hooks. It is
// the last step of end; only end and the closings it starts call it.
func (c *Conn) closeNet() {
	c.mu.Lock()
	if c.netClosed.Load() {
		c.mu.Unlock()
		return
	}
	c.netClosed.Store(true)
	if c.waits != nil && c.waits.closed != nil {
		close(c.waits.closed)
	}
	hooks := c.closeHooks
	c.closeHooks = nil
	c.mu.Unlock()
	c.state.Store(int32(StateClosed))
	c.nc.Close()
	for _, h := range hooks {
		h.f()
	}
}

// closeHook is a function that runs once the TCP connection is closed.
type closeHook struct{ f func() }

// onClose arranges for f to run once the TCP connection is closed, or runs
// it at once if it is. The heartbeat, the Group and the context of
// Handler's request use it.
func (c *Conn) onClose(f func()) {
	c.addCloseHook(&closeHook{f: f})
}

// addCloseHook adds h, or runs it at once if the connection is closed.
func (c *Conn) addCloseHook(h *closeHook) {
	c.mu.Lock()
	if !c.isClosed() {
		c.closeHooks = append(c.closeHooks, h)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	h.f()
}

// removeCloseHook removes h and reports whether it had not run yet.
func (c *Conn) removeCloseHook(h *closeHook) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.closeHooks {
		if x == h {
			c.closeHooks = append(c.closeHooks[:i], c.closeHooks[i+1:]...)
			return true
		}
	}
	return false
}

// isClosed reports whether the TCP connection was closed.
func (c *Conn) isClosed() bool { return c.netClosed.Load() }

// closedChan returns a channel that is closed once the TCP connection is
// closed. It is made on the first call, so that a connection nobody waits
// on keeps none.
func (c *Conn) closedChan() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.netClosed.Load() {
		return closedChan
	}
	if c.waits == nil {
		c.waits = new(connWaits)
	}
	if c.waits.closed == nil {
		c.waits.closed = make(chan struct{})
	}
	return c.waits.closed
}

// connWaits are the channels a Conn makes for those who wait on it.
type connWaits struct {
	closed    chan struct{} // closed when nc is closed
	closeRecv chan struct{} // closed when the peer's close frame arrived or reading ended
}

// closeRecvChan returns a channel that is closed once the peer's close
// frame arrived or reading ended, made on the first call.
func (c *Conn) closeRecvChan() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readEnded {
		return closedChan
	}
	if c.waits == nil {
		c.waits = new(connWaits)
	}
	if c.waits.closeRecv == nil {
		c.waits.closeRecv = make(chan struct{})
	}
	return c.waits.closeRecv
}

// closedChan is a closed channel, for what has already happened.
var closedChan = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

var errConnClosed = fmt.Errorf("wsproto: use of closed connection: %w", net.ErrClosed)
