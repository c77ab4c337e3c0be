package wsproto

import (
	"context"
	"errors"
	"fmt"
	"github.com/pushwire/pushwire/wsproto/frame"
	"io"
	"os"
)

// Read reads the next data message. The payload is written to buf's
// storage, and returned, when it fits; a longer one is held in memory that
// grows with the bytes that arrive (never sized from the length a frame
// header announces) and returned as one new slice. Pass ReuseBuffer(msg)
// back as buf on the next call: steady-state reading allocates nothing,
// and a connection waiting for its next message keeps no large buffer.
// The returned slice is the caller's; pushwire does not keep it.
//
// Ping, pong and close frames that arrive first are handled on the way. When
// the peer closes, Read returns an error that errors.As matches with a
// CloseError holding the peer's code and reason. If ctx ends while Read waits
// for the first frame of a message, Read returns ctx.Err() and the connection
// stays usable; if it ends in the middle of a message, the connection is
// failed with close code 1008.
func (c *Conn) Read(ctx context.Context, buf []byte) (MessageType, []byte, error) {
	if err := c.lock(ctx, &c.rlock); err != nil {
		return 0, buf[:0], err
	}
	defer unlock(&c.rlock)
	buf = buf[:0]
	c.mr.gen++
	if err := c.beginRead(ctx); err != nil {
		return 0, buf, err
	}
	if err := c.skipMessage(); err != nil {
		return 0, buf, c.readFailed(ctx, err, true)
	}
	if err := c.nextFrame(); err != nil {
		return 0, buf, c.readFailed(ctx, err, false)
	}
	typ := c.msgType
	// The message is held as it arrives (msgBuffer), never sized from the
	// lengths its frame headers announce.
	mb := newMsgBuffer(buf)
	if c.msgCompressed {
		if err := c.readInflated(&mb); err != nil {
			return 0, mb.partial(), c.readFailed(ctx, err, true)
		}
		c.noteBuffered()
		return typ, mb.bytes(), nil
	}
	for {
		for c.frameLeft > 0 {
			room := mb.room(c.frameLeft, -1)
			m, err := c.readPayload(room)
			mb.commit(m)
			if err != nil {
				return 0, mb.partial(), c.readFailed(ctx, err, true)
			}
		}
		if !c.inMessage {
			c.noteBuffered()
			return typ, mb.bytes(), nil
		}
		if err := c.nextFrame(); err != nil {
			return 0, mb.partial(), c.readFailed(ctx, err, true)
		}
	}
}

// Reader waits for the next data message and returns its type and a reader
// of its payload, for messages too big to hold in memory. The reader returns
// io.EOF at the end of the message and is valid until the next call to
// Reader or Read, which discard what it left unread. ctx bounds Reader and
// every Read on the returned reader; a context that ends leaves the
// connection usable, and Read may be called again. A compressed message
// (permessage-deflate) is inflated as it is read, once all its frames have
// arrived: until then its compressed bytes are held.
func (c *Conn) Reader(ctx context.Context) (MessageType, io.Reader, error) {
	if err := c.lock(ctx, &c.rlock); err != nil {
		return 0, nil, err
	}
	defer unlock(&c.rlock)
	if err := c.beginRead(ctx); err != nil {
		return 0, nil, err
	}
	if err := c.skipMessage(); err != nil {
		return 0, nil, c.readFailed(ctx, err, false)
	}
	if err := c.nextFrame(); err != nil {
		return 0, nil, c.readFailed(ctx, err, false)
	}
	c.mr.gen++
	return c.msgType, &messageReaderRef{r: &c.mr, gen: c.mr.gen, ctx: ctx}, nil
}

// messageReader is the state behind the readers Reader returns.
type messageReader struct {
	c   *Conn
	gen uint64
}

// messageReaderRef is one message's reader; gen tells a stale reader from
// the current one.
type messageReaderRef struct {
	r   *messageReader
	gen uint64
	ctx context.Context
}

var errStaleReader = errors.New("wsproto: read from a message reader after the next message was requested")

// Read reads payload bytes of the message.
func (m *messageReaderRef) Read(p []byte) (int, error) {
	c := m.r.c
	if err := c.lock(m.ctx, &c.rlock); err != nil {
		return 0, err
	}
	defer unlock(&c.rlock)
	if m.gen != m.r.gen {
		return 0, errStaleReader
	}
	if err := c.beginRead(m.ctx); err != nil {
		return 0, err
	}
	if c.msgCompressed {
		if len(p) == 0 {
			return 0, nil
		}
		// The decompressor cannot resume after an error: a context that
		// ends inside a compressed message ends the connection.
		n, err := c.inflate(p)
		if err != nil && err != io.EOF {
			return n, c.readFailed(m.ctx, err, true)
		}
		return n, err
	}
	n, err := payloadReader{c}.Read(p)
	if err == io.EOF {
		return 0, io.EOF
	}
	if err != nil {
		return n, c.readFailed(m.ctx, err, false)
	}
	if c.frameLeft == 0 && !c.inMessage {
		return n, io.EOF
	}
	return n, nil
}

// payloadReader reads the payload of the current data message, frame after
// frame, unmasked and counted off; io.EOF at the end of the message.
// Control frames between the frames are handled on the way. Compressed
// messages are read through it (compress.go), which so never sees the read
// buffer.
type payloadReader struct{ c *Conn }

func (r payloadReader) Read(p []byte) (int, error) {
	c := r.c
	for c.frameLeft == 0 {
		if !c.inMessage {
			return 0, io.EOF
		}
		if err := c.nextFrame(); err != nil {
			return 0, err
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	return c.readPayload(p)
}

// wholePayload returns the rest of the current message's payload when it
// is the whole payload of one frame, the message's last, of at most
// bigReadSize bytes: read into the read buffer, unmasked and consumed, it
// stays there, valid until the next read from the connection. ok is false,
// and nothing is consumed, for a longer message.
func (c *Conn) wholePayload() (b []byte, ok bool, err error) {
	if c.frameLeft == 0 && !c.inMessage {
		return nil, true, nil
	}
	if !c.frameFin || c.frameLeft > bigReadSize {
		return nil, false, nil
	}
	n := int(c.frameLeft)
	if err := c.fill(n, n); err != nil {
		return nil, false, err
	}
	b = c.rbuf[c.rpos : c.rpos+n]
	c.rpos += n
	if err := c.consumePayload(b); err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// beginRead checks that the connection can still be read and arms ctx.
func (c *Conn) beginRead(ctx context.Context) error {
	if err := c.ended(); err != nil {
		return err
	}
	return c.rwatch.arm(ctx)
}

// skipMessage discards what a message reader left of the current message.
func (c *Conn) skipMessage() error {
	if c.msgCompressed {
		return c.skipCompressed()
	}
	return c.skipPayload()
}

// skipPayload discards the rest of the current message's payload.
func (c *Conn) skipPayload() error {
	for c.inMessage || c.frameLeft > 0 {
		for c.frameLeft > 0 {
			if c.rend == c.rpos {
				if err := c.fill(1, int(min(c.frameLeft, bigReadSize))); err != nil {
					return err
				}
			}
			n := int(min(c.frameLeft, int64(c.rend-c.rpos)))
			if err := c.consumePayload(c.rbuf[c.rpos : c.rpos+n]); err != nil {
				return err
			}
			c.rpos += n
		}
		if c.inMessage {
			if err := c.nextFrame(); err != nil {
				return err
			}
		}
	}
	return nil
}

// readFailed turns an error met while reading into the error the caller
// sees, and ends the connection unless the error leaves it usable.
// midMessage says whether part of a message was already delivered.
func (c *Conn) readFailed(ctx context.Context, err error, midMessage bool) error {
	if prior := c.ended(); prior != nil {
		return prior
	}
	switch {
	case errors.Is(err, ErrProtocol), errors.Is(err, ErrInvalidUTF8), errors.Is(err, ErrMessageTooBig), errors.Is(err, ErrInvalidCompressed):
		return c.fail(err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		if cerr := ctx.Err(); cerr != nil {
			err = cerr
		}
		if !midMessage {
			return err
		}
		return c.fail(fmt.Errorf("wsproto: message read interrupted: %w", err))
	case errors.Is(err, errCloseReceived):
		return c.ended()
	}
	// The TCP connection ended without a closing handshake: RFC 6455 §7.1.5
	// "the WebSocket Connection Close Code is considered to be 1006".
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	err = c.end(fmt.Errorf("%w: %w", frame.CloseError{Code: frame.CloseAbnormal}, err), closeNow)
	c.releaseReadBuffer()
	return err
}

// errCloseReceived reports that the frame just read was the peer's close.
var errCloseReceived = errors.New("wsproto: close frame received")

// fill makes at least need bytes available in c.rbuf[c.rpos:c.rend], with
// room for up to want bytes (capped at the pooled buffer's size) so that one
// read can bring what the caller is about to consume. An idle connection
// waits for its next frame with the small array inside Conn; a pooled
// buffer takes over when a read fills the array or when more is wanted
// while data flows (the last read filled the space it had), and goes back
// to the pool once the input is drained and only a little is wanted again,
// or data stopped flowing: a peer that trickles its bytes, or sends part of
// a message and stops, is waited for with the small array.
func (c *Conn) fill(need, want int) error {
	want = min(max(want, need), bigReadSize)
	for c.rend-c.rpos < need {
		if c.rpos == c.rend {
			c.rpos, c.rend = 0, 0
			if !c.flowing {
				c.releaseReadBuffer()
				want = min(want, smallReadSize)
			}
		}
		if len(c.rbuf)-c.rpos < want {
			if want > len(c.rbuf) {
				c.takeBigBuffer(want)
			} else {
				c.rend = copy(c.rbuf, c.rbuf[c.rpos:c.rend])
				c.rpos = 0
			}
		}
		if err := c.flushHeld(); err != nil {
			return err
		}
		m, err := c.nc.Read(c.rbuf[c.rend:])
		c.flowing = c.rend+m == len(c.rbuf)
		c.rend += m
		if c.rpool == nil && c.rend == len(c.rbuf) {
			c.takeBigBuffer(0)
		}
		if err != nil {
			if c.rend-c.rpos >= need {
				return nil
			}
			return err
		}
		if m == 0 {
			return io.ErrNoProgress
		}
	}
	return nil
}

// takeBigBuffer moves buffered input into a pooled buffer of at least n bytes.
func (c *Conn) takeBigBuffer(n int) {
	var p *[]byte
	if n <= bigReadSize {
		p = readPool.Get().(*[]byte)
	} else {
		b := make([]byte, n)
		p = &b
	}
	m := copy(*p, c.rbuf[c.rpos:c.rend])
	if c.rpool != nil {
		readPool.Put(c.rpool)
	}
	c.rpool, c.rbuf, c.rpos, c.rend = p, *p, 0, m
}

// releaseReadBuffer returns the pooled buffer once the input is drained.
func (c *Conn) releaseReadBuffer() {
	if c.rpool == nil || c.rpos != c.rend {
		return
	}
	if cap(*c.rpool) == bigReadSize {
		readPool.Put(c.rpool)
	}
	c.rpool, c.rbuf, c.rpos, c.rend = nil, c.rsmall[:], 0, 0
}

// nextFrame reads frame headers until the header of a data frame, handling
// control frames on the way, and checks it against the connection's state.
func (c *Conn) nextFrame() error {
	for {
		if err := c.fill(2, 2); err != nil {
			return err
		}
		hs := frame.HeaderSize(c.rbuf[c.rpos:c.rend])
		if err := c.fill(hs, hs); err != nil {
			return err
		}
		h, err := frame.ParseHeader(c.rbuf[c.rpos : c.rpos+hs])
		if err != nil {
			return err
		}
		from := frame.FromClient
		if c.client {
			from = frame.FromServer
		}
		if err := frame.CheckHeader(h, c.rsvAllowed, from); err != nil {
			return err
		}
		if h.Opcode.IsControl() {
			// A control frame is at most 2+4+125 bytes (RFC 6455 §5.5):
			// it is handled whole, from the buffer.
			if err := c.fill(hs+int(h.Length), hs+int(h.Length)); err != nil {
				return err
			}
			c.rpos += hs
			payload := c.rbuf[c.rpos : c.rpos+int(h.Length)]
			c.rpos += len(payload)
			if h.Masked {
				frame.Mask(h.Mask, 0, payload)
			}
			if err := c.handleControl(h.Opcode, payload); err != nil {
				return err
			}
			continue
		}
		if h.Opcode == frame.OpContinuation {
			// RFC 6455 §5.4: a continuation frame continues a fragmented
			// message; with none under way there is nothing to continue.
			if !c.inMessage {
				return fmt.Errorf("%w: continuation frame with no message to continue (RFC 6455 §5.4)", ErrProtocol)
			}
		} else {
			// RFC 6455 §5.4: "the fragments of one message MUST NOT be
			// interleaved between the fragments of another message".
			if c.inMessage {
				return fmt.Errorf("%w: %v frame inside a fragmented message (RFC 6455 §5.4)", ErrProtocol, h.Opcode)
			}
			c.inMessage = true
			c.msgType = MessageType(h.Opcode)
			c.msgLen = 0
			c.utf8.Reset()
			// RFC 7692 §6: RSV1 on the first frame of a message marks it
			// compressed (CheckHeader refused it where it is not allowed).
			if h.Rsv&frame.Rsv1 != 0 {
				c.msgCompressed = true
				c.z.i.start(c.readLimit.Load())
			}
		}
		if lim := c.readLimit.Load(); lim >= 0 {
			if c.msgCompressed {
				// The inflated size is checked while inflating; this
				// bounds the work spent on the compressed bytes.
				lim = compressedWireLimit(lim)
			}
			if h.Length > lim-c.msgLen {
				return fmt.Errorf("%w: message of at least %d bytes exceeds the read limit of %d bytes", ErrMessageTooBig, c.msgLen+h.Length, lim)
			}
		}
		c.msgLen += h.Length
		c.rpos += hs
		c.frameLeft = h.Length
		c.frameFin = h.Fin
		c.frameMask = h.Mask
		c.masked = h.Masked
		c.maskPos = 0
		if h.Length == 0 {
			return c.frameDone()
		}
		return nil
	}
}

// frameDone ends the current frame, and the message with a FIN frame.
func (c *Conn) frameDone() error {
	if !c.frameFin {
		return nil
	}
	c.inMessage = false
	// RFC 6455 §8.1: a text message whose payload is not valid UTF-8 as a
	// whole fails the connection, also when it ends inside a code point.
	if c.msgType == MessageText && !c.msgCompressed && !c.utf8.Done() {
		return fmt.Errorf("%w: text message ends inside a UTF-8 sequence", ErrInvalidUTF8)
	}
	return nil
}

// readPayload reads up to len(p) bytes of the current frame's payload into
// p, unmasks and validates them.
func (c *Conn) readPayload(p []byte) (int, error) {
	if int64(len(p)) > c.frameLeft {
		p = p[:c.frameLeft]
	}
	var n int
	var err error
	switch {
	case c.rend > c.rpos:
		n = copy(p, c.rbuf[c.rpos:c.rend])
		c.rpos += n
	case len(p) >= directReadMin:
		// A long payload goes straight into the destination.
		if err = c.flushHeld(); err != nil {
			return 0, err
		}
		n, err = c.nc.Read(p)
		// Long payloads flow past the buffer: the next header is read
		// into the small array, not with 16 KiB of payload to copy.
		c.flowing = false
		if n == 0 && err == nil {
			err = io.ErrNoProgress
		}
	default:
		if err = c.fill(1, len(p)); err == nil {
			n = copy(p, c.rbuf[c.rpos:c.rend])
			c.rpos += n
		}
	}
	if n > 0 {
		if cerr := c.consumePayload(p[:n]); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

// consumePayload unmasks b, the next bytes of the current frame, validates
// them and counts them off the frame.
func (c *Conn) consumePayload(b []byte) error {
	if c.masked {
		c.maskPos = uint8(frame.Mask(c.frameMask, int(c.maskPos), b))
	}
	c.frameLeft -= int64(len(b))
	// RFC 6455 §8.1: invalid UTF-8 fails the connection as soon as it is
	// seen, not when the message ends.
	// A compressed message is validated after inflating.
	if c.msgType == MessageText && !c.msgCompressed && !c.utf8.Write(b) {
		return fmt.Errorf("%w: text message is not valid UTF-8", ErrInvalidUTF8)
	}
	if c.frameLeft == 0 {
		return c.frameDone()
	}
	return nil
}
