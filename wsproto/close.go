package wsproto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pushwire/pushwire/wsproto/frame"
)

// handleControl acts on a ping, pong or close frame. payload is valid until
// the next read.
func (c *Conn) handleControl(op frame.Opcode, payload []byte) error {
	switch op {
	case frame.OpPing:
		if c.onPing != nil {
			c.onPing(payload)
		}
		// RFC 6455 §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST
		// send a Pong frame in response, unless it already received a Close
		// frame." After our own close frame nothing more is sent (§5.5.1).
		if c.sentClose.Load() {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.closeTimeout)
		err := c.writeControl(ctx, frame.OpPong, payload)
		cancel()
		if err != nil && !c.sentClose.Load() {
			return err
		}
	case frame.OpPong:
		if c.onPong != nil {
			c.onPong(payload)
		}
		if c.hb != nil {
			c.hb.pong()
		}
		c.notifyPong(payload)
	case frame.OpClose:
		ce, err := frame.ParseClosePayload(payload)
		if err != nil {
			return err
		}
		c.peerClosed(ce)
		return errCloseReceived
	}
	return nil
}

// peerClosed completes the closing handshake after the peer's close frame.
func (c *Conn) peerClosed(ce frame.CloseError) {
	c.end(ce, closeAnswer)
}

// finishClose closes the TCP connection at the end of the closing
// handshake. RFC 6455 §7.1.1: "the server SHOULD close the underlying TCP
// connection first"; a client waits for that, bounded by the close timeout.
func (c *Conn) finishClose() {
	if !c.client {
		c.closeNet()
		c.releaseReadBuffer()
		return
	}
	c.nc.SetReadDeadline(time.Now().Add(c.closeTimeout))
	var b [64]byte
	for {
		if _, err := c.nc.Read(b[:]); err != nil {
			break
		}
	}
	c.closeNet()
	c.rpos, c.rend = 0, 0
	c.releaseReadBuffer()
}

// closeCodeFor maps an error to the close code that fails the connection
// (RFC 6455 §7.4.1).
func closeCodeFor(err error) frame.CloseCode {
	switch {
	case errors.Is(err, ErrInvalidUTF8), errors.Is(err, ErrInvalidCompressed):
		return frame.CloseInvalidPayload
	case errors.Is(err, ErrMessageTooBig):
		return frame.CloseTooBig
	case errors.Is(err, ErrProtocol):
		return frame.CloseProtocolError
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return frame.ClosePolicyViolation
	}
	return frame.CloseInternalError
}

// fail fails the WebSocket connection (RFC 6455 §7.1.7): it sends a close
// frame with the code that err calls for, closes the TCP connection, and
// returns the error every later call will see.
func (c *Conn) fail(err error) error {
	return c.end(err, closeFail)
}

// closeReason is the short reason sent with a code that fails the connection.
func closeReason(code frame.CloseCode) string {
	switch code {
	case frame.CloseProtocolError:
		return "protocol error"
	case frame.CloseInvalidPayload:
		return "invalid UTF-8"
	case frame.CloseTooBig:
		return "message too big"
	case frame.ClosePolicyViolation:
		return "read timed out"
	}
	return ""
}

// lingerClose closes the connection after failing it: it stops writing,
// lets the peer read our close frame, and discards what the peer still sends
// for at most the close timeout, so that the kernel does not answer unread
// input with a reset that would destroy the close frame in flight.
func (c *Conn) lingerClose() {
	c.state.Store(int32(StateClosing))
	type closeWriter interface{ CloseWrite() error }
	cw, ok := c.nc.(closeWriter)
	if !ok {
		c.closeNet()
		return
	}
	cw.CloseWrite()
	c.nc.SetReadDeadline(time.Now().Add(c.closeTimeout))
	c.lingering.Store(true)
	go func() {
		io.Copy(io.Discard, io.LimitReader(c.nc, 1<<20))
		c.closeNet()
	}()
}

// Close starts the closing handshake (RFC 6455 §7.1.2) with code and reason,
// waits for the peer's close frame and closes the connection. It returns nil
// when the peer answered within the close timeout. A reason may hold up to
// MaxCloseReason bytes of UTF-8; code must be one that may be sent
// (CloseCode.Sendable) or CloseNoStatus for an empty close frame.
//
// Close may be called concurrently with reads and writes: a data message
// being written is not interrupted in the middle of a frame, and nothing is
// written after the close frame. If no goroutine is reading, Close reads
// and discards data messages until the close frame arrives.
func (c *Conn) Close(code frame.CloseCode, reason string) error {
	var b [2 + frame.MaxCloseReason]byte
	payload, err := frame.AppendClosePayload(b[:0], code, reason)
	if err != nil {
		return err
	}
	if err := c.ended(); err != nil || c.sentClose.Load() {
		return errConnClosed
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.closeTimeout)
	defer cancel()
	if err := c.writeControl(ctx, frame.OpClose, payload); err != nil {
		c.end(errConnClosed, closeNow)
		return err
	}
	c.state.Store(int32(StateClosing))
	select {
	case c.rlock <- struct{}{}:
		c.readUntilClose(ctx)
		unlock(c.rlock)
	case <-c.closeRecv:
	case <-ctx.Done():
	}
	c.mu.Lock()
	answered := c.recvClose
	c.mu.Unlock()
	if !answered {
		c.end(errConnClosed, closeNow)
		return fmt.Errorf("wsproto: peer did not answer the close frame within %v", c.closeTimeout)
	}
	// Wait for the reader that received the close frame to finish the
	// handshake on the TCP level.
	select {
	case <-c.closed:
	case <-ctx.Done():
		c.end(errConnClosed, closeNow)
	}
	return nil
}

// readUntilClose reads and discards messages until the peer's close frame.
func (c *Conn) readUntilClose(ctx context.Context) {
	if c.ended() != nil {
		return
	}
	if err := c.rwatch.arm(ctx); err != nil {
		return
	}
	for {
		err := c.skipMessage()
		if err == nil {
			err = c.nextFrame()
		}
		if err != nil {
			c.readFailed(ctx, err, false)
			return
		}
	}
}

// CloseNow closes the TCP connection at once, without a closing handshake.
// Blocked reads and writes return an error that wraps net.ErrClosed. A
// connection that was failed (a protocol error of the peer) has already sent
// its close frame and lets the peer read it for at most the close timeout
// before the TCP connection closes; CloseNow leaves that to finish.
func (c *Conn) CloseNow() error {
	if c.lingering.Load() {
		c.end(errConnClosed, closeLeave)
		return nil
	}
	if c.isClosed() {
		c.end(errConnClosed, closeLeave)
		return errConnClosed
	}
	c.end(errConnClosed, closeNow)
	return nil
}

// Ping sends a ping with payload (at most 125 bytes) and waits for the pong
// that echoes it (RFC 6455 §5.5.2, §5.5.3), until ctx ends. A goroutine must
// be reading, since pongs are received by reads. A peer may answer only the
// latest of several pings; give pings distinct payloads.
func (c *Conn) Ping(ctx context.Context, payload []byte) error {
	if len(payload) > 125 {
		return fmt.Errorf("wsproto: ping payload of %d bytes exceeds 125 (RFC 6455 §5.5)", len(payload))
	}
	key := string(payload)
	ch := make(chan struct{})
	c.mu.Lock()
	if c.pingWaiters == nil {
		c.pingWaiters = make(map[string][]chan struct{})
	}
	c.pingWaiters[key] = append(c.pingWaiters[key], ch)
	c.mu.Unlock()
	defer c.dropPingWaiter(key, ch)
	if err := c.writeControl(ctx, frame.OpPing, payload); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closed:
		return c.closedErr()
	}
}

func (c *Conn) dropPingWaiter(key string, ch chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ws := c.pingWaiters[key]
	for i, w := range ws {
		if w == ch {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(c.pingWaiters, key)
	} else {
		c.pingWaiters[key] = ws
	}
}

// notifyPong wakes the Ping calls waiting for payload.
func (c *Conn) notifyPong(payload []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ws := c.pingWaiters[string(payload)]
	for _, ch := range ws {
		close(ch)
	}
	delete(c.pingWaiters, string(payload))
}
