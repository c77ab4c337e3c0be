package wsproto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/pushwire/pushwire/internal/deflate"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// permessage-deflate (RFC 7692) over frames. The codec is
// internal/deflate; this file puts it between a connection's messages and
// their frames. The write side hands compressed bytes to writeFrame; the
// read side takes a compressed message's payload from read.go (wholePayload
// and payloadReader) and never sees the read buffer.

// CompressionOptions configures permessage-deflate (RFC 7692), offered by
// Dial and accepted by Accept when AcceptOptions.Compression or
// DialOptions.Compression is set. The zero value is usable: the default
// threshold, and context takeover in both directions unless the peer asks
// otherwise.
//
// Memory per connection depends on context takeover (RFC 7692 §7.1.1):
//
//   - With context takeover in a direction, the connection keeps that
//     direction's LZ77 window between messages, from its first compressed
//     message on: 2^bits bytes for the window size agreed (§7.1.2), so
//     32 KiB at the default 15 bits, about 64 KiB for both directions.
//   - Without context takeover in a direction, an idle connection keeps
//     nothing for it.
//
// Either way, the work space of the compressor (about 360 KiB) and of the
// decompressor (about 125 KiB) comes from pools shared by all connections
// and is held only while a message is compressed or inflated; a
// compressed message is inflated once all of it has arrived, so a
// connection that waits for the rest of one holds its compressed bytes,
// not a decompressor.
//
// Every window size of RFC 7692 §7.1.2 is honoured: the messages this end
// sends never refer further back than the window the peer asked for
// (server_max_window_bits in a client's offer, client_max_window_bits in
// a server's response), 256 bytes for 8 bits included. Dial offers
// client_max_window_bits without a value, as browsers do, so that a server
// may ask for a smaller window (§7.1.2.2). Messages from a peer that
// compresses with a smaller window are always inflated: Accept accepts
// client_max_window_bits of any value and answers without it unless
// ClientMaxWindowBits is set, and Dial accepts server_max_window_bits of
// any value from the server.
type CompressionOptions struct {
	// Threshold is the size below which a message is sent uncompressed:
	// short messages gain little and cost a compressor. Default (0): 128
	// bytes; negative: compress every message. Messages written with
	// Writer are compressed when Close finds at least Threshold bytes, or
	// as soon as 32 KiB are buffered.
	Threshold int

	// ServerNoContextTakeover makes the server compress every message with
	// an empty window (RFC 7692 §7.1.1.1), so that it keeps no window for
	// the connection between messages, and so that PreparedMessage
	// compresses a message once for all such connections. A client offers
	// server_no_context_takeover; a server answers with it even when the
	// client did not ask, which RFC 7692 §7.1.1.1 allows. Either way, a
	// server also honours a client that asks for it.
	ServerNoContextTakeover bool

	// ClientNoContextTakeover makes the client compress every message with
	// an empty window (RFC 7692 §7.1.1.2). A client offers
	// client_no_context_takeover and then keeps to it whatever the server
	// answers; a server answers with it even when the client did not
	// offer it, which RFC 7692 §7.1.1.2 allows, and then needs no window
	// for the client's messages.
	ClientNoContextTakeover bool

	// ClientMaxWindowBits, from 8 to 15, makes a server ask clients whose
	// offer has client_max_window_bits (every browser's does) to compress
	// within a window of 2^ClientMaxWindowBits bytes, by answering with
	// client_max_window_bits (RFC 7692 §7.1.2.2), and inflates their
	// messages with that window: with context takeover the connection
	// then keeps 2^ClientMaxWindowBits bytes for them instead of 32 KiB,
	// at some cost in compression of the client's messages. An offer with
	// a smaller value gets that value; an offer without the parameter is
	// answered without it (the client may then use 15 bits). 8 bits keep
	// 512 bytes, since zlib, on which most clients build, compresses with
	// 512 when asked for 256. 0 or a value outside 8 to 15: the server
	// does not ask. Dial does not use it.
	ClientMaxWindowBits int
}

// ErrInvalidCompressed reports a compressed message that does not inflate
// (RFC 7692 §7.2.2). The connection is failed with close code 1007.
var ErrInvalidCompressed = errors.New("wsproto: compressed message does not inflate")

// deflateParams is what the handshake agreed on, seen from this end.
type deflateParams struct {
	threshold      int  // shorter messages are sent uncompressed; <= 0: none
	writeBits      int  // LZ77 window of the messages this end sends (RFC 7692 §7.1.2); 0 means 15
	readBits       int  // LZ77 window of the messages the peer sends; 0 means 15
	writeNoContext bool // this end compresses each message with an empty window
	readNoContext  bool // the peer compresses each message with an empty window
}

func newDeflateParams(o *CompressionOptions) deflateParams {
	t := o.Threshold
	if t == 0 {
		t = defaultCompressionMin
	}
	return deflateParams{threshold: t, writeBits: deflate.MaxWindowBits, readBits: deflate.MaxWindowBits}
}

// windowOr15 returns bits, or 15 for 0.
func windowOr15(bits int) int {
	if bits == 0 {
		return deflate.MaxWindowBits
	}
	return bits
}

// compression is a connection's permessage-deflate state, both
// directions in one allocation.
type compression struct {
	d deflater
	i inflater
}

// newCompression returns the state for p, whose window sizes negotiate.go
// checked.
func newCompression(c *Conn, p *deflateParams) *compression {
	z := &compression{}
	z.d.c = c
	z.d.threshold = p.threshold
	z.d.noContext = p.writeNoContext
	z.d.enc.Reset(windowOr15(p.writeBits), p.writeNoContext)
	z.i.dec.Reset(windowOr15(p.readBits), p.readNoContext)
	z.i.noContext = p.readNoContext
	z.i.chunks = z.i.chunkArr[:0]
	return z
}

// ---- Write side ----

// deflatePiece is the most input handed to the encoder at once: one
// DEFLATE block's worth (RFC 1951 §3.2.4), so that one call adds at most
// one block to the output buffer.
const deflatePiece = 1<<16 - 1

// deflateOutPool holds the output buffers of messages being compressed:
// a frame's worth (writeChunk) and one more block.
var deflateOutPool = sync.Pool{New: func() any {
	b := make([]byte, 0, writeChunk+deflate.MaxEncodedLen(deflatePiece)+64)
	return &b
}}

// deflater compresses a connection's outgoing messages (RFC 7692 §7.2.1)
// and sends them as frames through writeFrame. It is touched only by the
// holder of wmsg.
type deflater struct {
	c         *Conn
	enc       deflate.Encoder
	threshold int  // shorter messages go uncompressed
	noContext bool // enc starts every message with an empty window

	// The message being sent.
	ctx    context.Context
	op     frame.Opcode
	out    *[]byte // pooled: compressed bytes not yet sent
	frames int     // frames of the message sent so far
}

// begin starts a compressed message of type op.
func (d *deflater) begin(ctx context.Context, op frame.Opcode) {
	d.ctx, d.op, d.frames = ctx, op, 0
	d.out = deflateOutPool.Get().(*[]byte)
	*d.out = (*d.out)[:0]
}

// write compresses p into the message, sending a frame whenever 32 KiB
// of compressed bytes are ready.
func (d *deflater) write(p []byte) error {
	out := *d.out
	for len(p) > 0 {
		k := min(len(p), deflatePiece)
		out = d.enc.Append(out, p[:k])
		p = p[k:]
		if len(out) >= writeChunk {
			*d.out = out
			if err := d.frame(false, out); err != nil {
				return err
			}
			out = out[:0]
		}
	}
	*d.out = out
	return nil
}

// finish ends the message: the encoder's last block and sync flush,
// without the 00 00 ff ff that RFC 7692 §7.2.1 has the sender remove,
// as the final frame.
func (d *deflater) finish() error {
	*d.out = d.enc.Finish(*d.out)
	return d.frame(true, *d.out)
}

// frame sends p as the next frame of the message. RFC 7692 §6: the
// "Per-Message Compressed" bit is set on the first frame only.
func (d *deflater) frame(fin bool, p []byte) error {
	op, rsv := frame.OpContinuation, byte(0)
	if d.frames == 0 {
		op, rsv = d.op, frame.Rsv1
	}
	if err := d.c.writeFrame(d.ctx, fin, op, rsv, p); err != nil {
		return err
	}
	d.frames++
	return nil
}

// end releases what the message used and returns its error, err. A
// message that failed before any frame of it was sent is dropped from the
// encoder, whose window is as it was, and the connection goes on; once a
// frame is out the peer waits for the rest, and a message cut short cannot
// be followed by another: the connection ends.
func (d *deflater) end(err error) error {
	if d.out != nil {
		deflateOutPool.Put(d.out)
		d.out = nil
	}
	d.ctx = nil
	if err == nil {
		return nil
	}
	d.enc.Abort()
	if d.frames == 0 || d.c.isClosed() {
		return err
	}
	return d.c.end(fmt.Errorf("wsproto: compressed message cut short: %w", err), closeNow)
}

// writeCompressed sends p as one compressed message. The caller holds wmsg.
func (c *Conn) writeCompressed(ctx context.Context, op frame.Opcode, p []byte) error {
	d := &c.z.d
	d.begin(ctx, op)
	err := d.write(p)
	if err == nil {
		err = d.finish()
	}
	return d.end(err)
}

// compressedFrame returns the frame of pm compressed with a window of
// bits and no context takeover, for server connections without context
// takeover; it is compressed once per window size.
func (pm *PreparedMessage) compressedFrame(bits int) []byte {
	pm.dmu.Lock()
	defer pm.dmu.Unlock()
	for _, f := range pm.deflated {
		if f.bits == bits {
			return f.frame
		}
	}
	var e deflate.Encoder
	e.Reset(bits, true) // bits was negotiated: 8 to 15
	// The payload is compressed behind room for the longest header, which
	// is then written just before it.
	b := make([]byte, frame.MaxHeaderSize, frame.MaxHeaderSize+deflate.MaxEncodedLen(len(pm.data)))
	b = e.AppendMessage(b, pm.data)
	h := frame.Header{Fin: true, Rsv: frame.Rsv1, Opcode: frame.Opcode(pm.typ), Length: int64(len(b) - frame.MaxHeaderSize)}
	start := frame.MaxHeaderSize - h.Size()
	frame.PutHeader(b[start:], h)
	pm.deflated = append(pm.deflated, bitsFrame{bits, b[start:]})
	return b[start:]
}

type bitsFrame struct {
	bits  int
	frame []byte
}

// ---- Read side ----

// inflater inflates a connection's incoming messages (RFC 7692 §7.2.2).
// It is touched only by the holder of rlock.
//
// A compressed message is inflated once its last frame has arrived: its
// payload is taken whole from the read buffer when it is one frame that
// fits there (wholePayload), or else gathered frame after frame into
// pooled buffers (payloadReader). A connection waiting for the rest of a
// message so holds the compressed bytes that came, never a decompressor's
// work space.
type inflater struct {
	dec       deflate.Decoder
	noContext bool  // the peer starts each message with an empty window
	open      bool  // dec holds the current message
	limit     int64 // read limit of the current message; < 0: none
	out       int64 // bytes inflated of the current message

	chunks   []*[]byte // the gathered payload, in buffers from readPool
	chunkArr [4]*[]byte
	last     int // bytes used in the last chunk
	src      chunkReader
	probe    [64]byte // readInflated's look for the end of a message
}

// start begins the compressed message whose first frame header was read.
func (f *inflater) start(limit int64) {
	f.abort()
	f.limit, f.out = limit, 0
}

// abort drops the current message and what it holds.
func (f *inflater) abort() {
	if f.open {
		f.dec.Abort()
		f.open = false
	}
	f.releaseChunks()
}

func (f *inflater) releaseChunks() {
	for i, p := range f.chunks {
		readPool.Put(p)
		f.chunks[i] = nil
	}
	f.chunks, f.last = f.chunkArr[:0], 0
	f.src = chunkReader{}
}

// openCompressed reads the rest of the current compressed message's
// payload and opens the decoder on it.
func (c *Conn) openCompressed() error {
	f := &c.z.i
	b, ok, err := c.wholePayload()
	if err != nil {
		return err
	}
	if ok {
		// In the read buffer, which is not touched again before the
		// message was inflated or dropped.
		f.dec.BeginBytes(b, f.limit)
		f.open = true
		return nil
	}
	r := payloadReader{c}
	for {
		if len(f.chunks) == 0 || f.last == bigReadSize {
			f.chunks = append(f.chunks, readPool.Get().(*[]byte))
			f.last = 0
		}
		chunk := *f.chunks[len(f.chunks)-1]
		n, err := r.Read(chunk[f.last:bigReadSize])
		f.last += n
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	f.src = chunkReader{chunks: f.chunks, last: f.last}
	f.dec.Begin(&f.src, f.limit)
	f.open = true
	return nil
}

// chunkReader reads the gathered payload of a message.
type chunkReader struct {
	chunks []*[]byte
	last   int // bytes used in the last chunk
	i, off int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for r.i < len(r.chunks) {
		end := bigReadSize
		if r.i == len(r.chunks)-1 {
			end = r.last
		}
		if r.off < end {
			n := copy(p, (*r.chunks[r.i])[r.off:end])
			r.off += n
			return n, nil
		}
		r.i, r.off = r.i+1, 0
	}
	return 0, io.EOF
}

// inflate reads inflated bytes of the current compressed message into p.
// It returns io.EOF with the last bytes of the message, once the message
// was read to its end and checked. The read limit applies to the inflated
// bytes: a message that inflates past it fails with ErrMessageTooBig
// having produced exactly the limit.
func (c *Conn) inflate(p []byte) (int, error) {
	f := &c.z.i
	if !f.open {
		if err := c.openCompressed(); err != nil {
			f.abort()
			return 0, err
		}
	}
	n, err := f.dec.Read(p)
	f.out += int64(n)
	// RFC 6455 §8.1 applies to the inflated text (RFC 7692 §6).
	if n > 0 && c.msgType == MessageText && !c.utf8.Write(p[:n]) {
		f.abort()
		return n, fmt.Errorf("%w: text message is not valid UTF-8", ErrInvalidUTF8)
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		return n, c.inflateDone()
	case errors.Is(err, deflate.ErrLimit):
		f.abort()
		return n, fmt.Errorf("%w: compressed message inflates to more than the read limit of %d bytes", ErrMessageTooBig, f.limit)
	}
	f.abort()
	// RFC 7692 §7.2.2 and RFC 6455 §7.1.7: data that does not inflate
	// fails the connection; 1007 "inconsistent with the type of the
	// message".
	return n, fmt.Errorf("%w: %w", ErrInvalidCompressed, err)
}

// inflateDone ends a compressed message that was inflated to its end.
func (c *Conn) inflateDone() error {
	f := &c.z.i
	f.open = false
	f.releaseChunks()
	c.msgCompressed = false
	// RFC 6455 §8.1: a text message whose payload is not valid UTF-8 as a
	// whole fails the connection, also when it ends inside a code point.
	if c.msgType == MessageText && !c.utf8.Done() {
		return fmt.Errorf("%w: text message ends inside a UTF-8 sequence", ErrInvalidUTF8)
	}
	return io.EOF
}

// room returns how many more bytes the current message may inflate to
// before the decoder reports the limit; -1 for no limit.
func (f *inflater) room() int64 {
	if f.limit < 0 {
		return -1
	}
	return max(f.limit-f.out, 1)
}

// rest returns held, bytes read but not yet stored, plus the inflated
// bytes left of the current message, when the decoder knows them (a
// message that fits its output buffer, once a first piece was read), else
// 0: a new chunk is then sized to fit the rest exactly, not by the chunks'
// growth.
func (f *inflater) rest(held int) int64 {
	if !f.open {
		return 0
	}
	n, end := f.dec.Pending()
	if !end {
		return 0
	}
	return int64(held + n)
}

// readInflated reads the rest of the current compressed message into mb.
// Its chunks never reach past the read limit: a message that inflates past
// it fails having allocated about the limit.
func (c *Conn) readInflated(mb *msgBuffer) error {
	f := &c.z.i
	for {
		var n int
		var err error
		if mb.full() {
			// The decoder may have nothing more to give but the end of
			// the message: see that before taking a chunk, so that a
			// message that fills the caller's buffer exactly allocates
			// nothing.
			p := f.probe[:]
			if r := f.room(); r >= 0 && r < int64(len(p)) {
				p = p[:r]
			}
			n, err = c.inflate(p)
			mb.write(p[:n], f.rest(n), f.room())
		} else {
			n, err = c.inflate(mb.room(f.rest(0), f.room()))
			mb.commit(n)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// skipCompressed discards the rest of the current compressed message.
// With context takeover it must still be inflated, since the next
// messages may refer to it.
func (c *Conn) skipCompressed() error {
	f := &c.z.i
	if f.noContext {
		f.abort()
		if err := c.skipPayload(); err != nil {
			return err
		}
		c.msgCompressed = false
		return nil
	}
	if !f.open {
		if err := c.openCompressed(); err != nil {
			f.abort()
			return err
		}
	}
	if err := f.dec.Discard(); err != nil {
		f.abort()
		if errors.Is(err, deflate.ErrLimit) {
			return fmt.Errorf("%w: compressed message inflates to more than the read limit of %d bytes", ErrMessageTooBig, f.limit)
		}
		return fmt.Errorf("%w: %w", ErrInvalidCompressed, err)
	}
	f.open = false
	f.releaseChunks()
	c.msgCompressed = false
	return nil
}

// compressedWireLimit is how many bytes a compressed message may take on the
// wire under read limit lim: DEFLATE's stored blocks add 5 bytes per 64 KiB,
// so a message that inflates to lim bytes always fits.
func compressedWireLimit(lim int64) int64 {
	if lim > math.MaxInt64/2 {
		return lim
	}
	return lim + lim>>8 + 256
}
