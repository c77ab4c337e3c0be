package wsproto

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/pushwire/pushwire/wsproto/frame"
	"io"
	"net"
	"os"
	"sync"
)

// Write sends p as one message of type typ in a single frame. Any number of
// goroutines may call Write at once; messages are sent whole, one after the
// other. Write does not keep p. If ctx ends before any byte of the frame was
// sent, Write returns ctx.Err() and the connection stays usable; if it ends
// in the middle of the frame, the connection is closed.
//
// With permessage-deflate negotiated, a message of at least the
// compression threshold is compressed (RFC 7692 §7.2.1) and sent in frames
// of up to 32 KiB of compressed data. A context that ends after the first
// of them was sent closes the connection.
func (c *Conn) Write(ctx context.Context, typ MessageType, p []byte) error {
	if typ != MessageText && typ != MessageBinary {
		return fmt.Errorf("wsproto: invalid message type %d", typ)
	}
	if err := c.lock(ctx, &c.wmsg); err != nil {
		return err
	}
	defer unlock(&c.wmsg)
	if c.z != nil && len(p) >= c.z.d.threshold {
		return c.writeCompressed(ctx, frame.Opcode(typ), p)
	}
	return c.writeFrame(ctx, true, frame.Opcode(typ), 0, p)
}

// WriteUncompressed sends p as one message in a single frame, like Write,
// but never compressed, whatever the connection negotiated: for data that
// is already compressed, such as images, or to spare the compressor's CPU
// time for one message. Without permessage-deflate it is Write.
func (c *Conn) WriteUncompressed(ctx context.Context, typ MessageType, p []byte) error {
	if typ != MessageText && typ != MessageBinary {
		return fmt.Errorf("wsproto: invalid message type %d", typ)
	}
	if err := c.lock(ctx, &c.wmsg); err != nil {
		return err
	}
	defer unlock(&c.wmsg)
	return c.writeFrame(ctx, true, frame.Opcode(typ), 0, p)
}

var errAfterClose = fmt.Errorf("wsproto: write after close frame: %w", errConnClosed)

// writeControl sends a control frame, between the frames of a message if one
// is being written (RFC 6455 §5.5: control frames "MAY be injected in the
// middle of a fragmented message").
func (c *Conn) writeControl(ctx context.Context, op frame.Opcode, payload []byte) error {
	return c.writeFrame(ctx, true, op, 0, payload)
}

// writeFrame sends one frame.
func (c *Conn) writeFrame(ctx context.Context, fin bool, op frame.Opcode, rsv byte, p []byte) error {
	if err := c.lock(ctx, &c.wframe); err != nil {
		return err
	}
	defer unlock(&c.wframe)
	// RFC 6455 §5.5.1: "After sending a Close frame, the endpoint MUST NOT
	// send any further data frames."
	if c.sentClose.Load() {
		return errAfterClose
	}
	if c.isClosed() {
		return c.closedErr()
	}
	if err := c.wwatch.arm(ctx); err != nil {
		return err
	}
	if op == frame.OpClose {
		c.sentClose.Store(true)
	}
	h := frame.Header{Fin: fin, Rsv: rsv, Opcode: op, Length: int64(len(p))}
	if c.client {
		// RFC 6455 §5.3: a fresh, unpredictable masking key per frame
		// (ChaCha8 seeded from crypto/rand).
		h.Masked = true
		binary.LittleEndian.PutUint32(h.Mask[:], uint32(c.rng.Uint64()))
	}
	n := frame.PutHeader(c.whdr[:], h)
	var written int64
	var err error
	withHeld := false
	switch {
	case c.client:
		written, err = c.writeMasked(c.whdr[:n], h.Mask, p)
	case len(p) <= copyWriteMax:
		data := op == frame.OpText || op == frame.OpBinary || op == frame.OpContinuation
		written, withHeld, err = c.writeShort(c.whdr[:n], data, p)
	default:
		if c.wpend != nil {
			withHeld = true
			if err := c.writeHeld(); err != nil {
				return err
			}
		} else if c.wheld.Load() == batchLast {
			c.wheld.Store(batchOff)
		}
		written, err = c.writeLong(c.whdr[:n], p)
	}
	if err != nil && withHeld {
		return c.heldFailed(err)
	}
	if err != nil {
		return c.writeFailed(ctx, err, written)
	}
	return nil
}

// iovecs is the argument of one writev: a header and a payload.
type iovecs struct {
	v [2][]byte
	b net.Buffers
}

var iovecPool = sync.Pool{New: func() any { return new(iovecs) }}

// writeLong writes a server frame whose payload is longer than
// copyWriteMax: header and payload in one writev where nc takes
// net.Buffers so, else in two writes.
func (c *Conn) writeLong(hdr, p []byte) (int64, error) {
	if !c.writevs {
		m, err := c.nc.Write(hdr)
		if err != nil {
			return int64(m), err
		}
		k, err := c.nc.Write(p)
		return int64(m + k), err
	}
	iv := iovecPool.Get().(*iovecs)
	iv.v[0], iv.v[1] = hdr, p
	iv.b = iv.v[:]
	n, err := iv.b.WriteTo(c.nc)
	iv.v[0], iv.v[1], iv.b = nil, nil, nil
	iovecPool.Put(iv)
	return n, err
}

// writeMasked writes a client frame: the header, then the payload masked
// into pooled buffers, never into p.
func (c *Conn) writeMasked(hdr []byte, key [4]byte, p []byte) (int64, error) {
	bp := writePool.Get().(*[]byte)
	defer writePool.Put(bp)
	b := *bp
	off := copy(b, hdr)
	pos := 0
	var written int64
	for {
		m := copy(b[off:], p)
		pos = frame.Mask(key, pos, b[off:off+m])
		p = p[m:]
		w, err := c.nc.Write(b[:off+m])
		written += int64(w)
		if err != nil {
			return written, err
		}
		if len(p) == 0 {
			return written, nil
		}
		off = 0
	}
}

// writeFailed turns a write error into the caller's error. A frame cut
// short leaves the stream corrupt, so the connection is closed; a context
// that ended before any byte was written leaves it usable.
func (c *Conn) writeFailed(ctx context.Context, err error, written int64) error {
	timeout := errors.Is(err, os.ErrDeadlineExceeded)
	if timeout {
		if cerr := ctx.Err(); cerr != nil {
			err = cerr
		}
		if written == 0 {
			return err
		}
	}
	if prior := c.ended(); prior != nil && c.isClosed() {
		return prior
	}
	return c.end(fmt.Errorf("wsproto: write failed: %w", err), closeNow)
}

// Writer returns a writer for one message of type typ, sent as one or more
// frames (RFC 6455 §5.4): data is buffered and sent in frames of up to 32 KiB,
// and Close sends the final frame. Until Close, other data messages wait;
// control frames (pings, pongs, close) are still sent between the frames.
// ctx bounds every write of the message.
func (c *Conn) Writer(ctx context.Context, typ MessageType) (io.WriteCloser, error) {
	if typ != MessageText && typ != MessageBinary {
		return nil, fmt.Errorf("wsproto: invalid message type %d", typ)
	}
	if err := c.lock(ctx, &c.wmsg); err != nil {
		return nil, err
	}
	c.mw.gen++
	c.mw.op = frame.Opcode(typ)
	c.mw.n = 0
	c.mw.err = nil
	c.mw.compressing = false
	return &messageWriterRef{w: &c.mw, gen: c.mw.gen, ctx: ctx}, nil
}

// messageWriter is the state behind the writers Writer returns; it is only
// touched by the holder of wmsg.
type messageWriter struct {
	c   *Conn
	gen uint64
	buf *[]byte
	n   int
	err error
	op  frame.Opcode
	// compressing: the message goes through the connection's deflater
	// (compress.go), which sends its frames.
	compressing bool
}

type messageWriterRef struct {
	w      *messageWriter
	gen    uint64
	ctx    context.Context
	mu     sync.Mutex
	closed bool
}

var errWriterClosed = errors.New("wsproto: write to a closed message writer")

// Write buffers p, sending full frames as the buffer fills.
func (r *messageWriterRef) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, errWriterClosed
	}
	w := r.w
	if w.err != nil {
		return 0, w.err
	}
	if w.compressing {
		return w.compress(p)
	}
	total := 0
	for len(p) > 0 {
		if w.c.z != nil && w.n+len(p) >= writeChunk {
			// 32 KiB is above any sensible threshold: compress from here
			// on, starting with what is buffered.
			if err := w.startCompression(r.ctx); err != nil {
				return total, err
			}
			n, err := w.compress(p)
			return total + n, err
		}
		if w.n == 0 && len(p) >= writeChunk {
			if err := w.frame(r.ctx, false, p); err != nil {
				return total, err
			}
			return total + len(p), nil
		}
		if w.buf == nil {
			w.buf = writePool.Get().(*[]byte)
		}
		m := copy((*w.buf)[w.n:writeChunk], p)
		w.n += m
		p = p[m:]
		total += m
		if w.n == writeChunk {
			if err := w.frame(r.ctx, false, (*w.buf)[:w.n]); err != nil {
				return total, err
			}
			w.n = 0
		}
	}
	return total, nil
}

// startCompression starts compressing the message with what is buffered.
func (w *messageWriter) startCompression(ctx context.Context) error {
	w.c.z.d.begin(ctx, w.op)
	w.compressing = true
	if w.n > 0 {
		n := w.n
		w.n = 0
		if _, err := w.compress((*w.buf)[:n]); err != nil {
			return err
		}
	}
	return nil
}

// compress feeds p to the deflater, which sends frames as they fill.
func (w *messageWriter) compress(p []byte) (int, error) {
	if err := w.c.z.d.write(p); err != nil {
		// The message is over: end releases it, and ends the
		// connection if a frame of it is out.
		w.err = w.c.z.d.end(err)
		w.compressing = false
		return 0, w.err
	}
	return len(p), nil
}

// frame sends one frame of the message.
func (w *messageWriter) frame(ctx context.Context, fin bool, p []byte) error {
	started := w.op == frame.OpContinuation
	err := w.c.writeFrame(ctx, fin, w.op, 0, p)
	w.op = frame.OpContinuation
	if err != nil {
		w.err = err
		if started {
			// Frames of this message are out and the rest never will be:
			// any later message would read as a new data frame inside it
			// (RFC 6455 §5.4), so the connection cannot go on.
			w.c.end(fmt.Errorf("wsproto: message cut short after its first frame: %w", err), closeNow)
		}
	}
	return err
}

// Close sends what is buffered as the final frame and lets other messages
// be written.
func (r *messageWriterRef) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errWriterClosed
	}
	r.closed = true
	w := r.w
	err := w.err
	if err == nil && !w.compressing && w.c.z != nil && w.n >= w.c.z.d.threshold {
		err = w.startCompression(r.ctx)
	}
	switch {
	case w.compressing:
		if err == nil {
			err = w.c.z.d.finish()
		}
		err = w.c.z.d.end(err)
		w.compressing = false
	case err == nil:
		var p []byte
		if w.buf != nil {
			p = (*w.buf)[:w.n]
		}
		err = w.frame(r.ctx, true, p)
	}
	if w.buf != nil {
		writePool.Put(w.buf)
		w.buf = nil
	}
	w.n = 0
	unlock(&w.c.wmsg)
	return err
}

// PreparedMessage is a message encoded once and written to many
// connections, for broadcast. Server connections write its frame bytes as
// they are; client connections, which must mask each frame with a fresh key,
// encode it again. A PreparedMessage is safe for concurrent use.
type PreparedMessage struct {
	typ   MessageType
	data  []byte
	once  sync.Once
	frame []byte

	dmu      sync.Mutex
	deflated []bitsFrame // compressed frames, one per window size
}

// NewPreparedMessage returns a prepared message of type typ holding data.
// data must not be modified afterwards.
func NewPreparedMessage(typ MessageType, data []byte) (*PreparedMessage, error) {
	if typ != MessageText && typ != MessageBinary {
		return nil, fmt.Errorf("wsproto: invalid message type %d", typ)
	}
	return &PreparedMessage{typ: typ, data: data}, nil
}

// serverFrame returns the unmasked frame, encoded on first use.
func (pm *PreparedMessage) serverFrame() []byte {
	pm.once.Do(func() {
		h := frame.Header{Fin: true, Opcode: frame.Opcode(pm.typ), Length: int64(len(pm.data))}
		pm.frame = append(frame.AppendHeader(make([]byte, 0, h.Size()+len(pm.data)), h), pm.data...)
	})
	return pm.frame
}

// preparedFrame returns the frame that sends pm on c, shared with other
// connections, or nil when c must encode pm itself: a client masks every
// frame, and a connection with context takeover compresses with its own
// window.
func (c *Conn) preparedFrame(pm *PreparedMessage) []byte {
	switch {
	case c.client, c.z != nil && !c.z.d.noContext:
		return nil
	case c.z != nil && len(pm.data) >= c.z.d.threshold:
		return pm.compressedFrame(c.z.d.enc.WindowBits())
	}
	return pm.serverFrame()
}

// WritePrepared sends pm as one message, like Write. A server connection
// with permessage-deflate and without context takeover for its messages
// (server_no_context_takeover, RFC 7692 §7.1.1.1) sends a frame compressed
// once per window size (server_max_window_bits, §7.1.2.1) and shared by
// all such connections; with context takeover each connection compresses
// the message itself.
func (c *Conn) WritePrepared(ctx context.Context, pm *PreparedMessage) error {
	frame := c.preparedFrame(pm)
	if frame == nil {
		return c.Write(ctx, pm.typ, pm.data)
	}
	if err := c.lock(ctx, &c.wmsg); err != nil {
		return err
	}
	defer unlock(&c.wmsg)
	if err := c.lock(ctx, &c.wframe); err != nil {
		return err
	}
	defer unlock(&c.wframe)
	if c.sentClose.Load() {
		return errAfterClose
	}
	if err := c.wwatch.arm(ctx); err != nil {
		return err
	}
	if err := c.writeHeld(); err != nil {
		return err
	}
	m, err := c.nc.Write(frame)
	if err != nil {
		return c.writeFailed(ctx, err, int64(m))
	}
	return nil
}
