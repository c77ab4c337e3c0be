package wsproto

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"github.com/pushwire/pushwire/wsproto/frame"
	"io"
	"math"
	"sync"
)

// CompressionOptions configures permessage-deflate (RFC 7692), offered by
// Dial and accepted by Accept when AcceptOptions.Compression or
// DialOptions.Compression is set. The zero value is usable: level
// flate.BestSpeed, the default threshold, and context takeover in both
// directions unless the peer asks otherwise.
//
// Memory per connection depends on context takeover (RFC 7692 §7.1.1):
//
//   - Without context takeover in a direction, its compressor or
//     decompressor comes from a pool shared by all connections for the
//     length of one message and goes back after it, so an idle connection
//     holds nothing for it.
//   - With context takeover for messages this end sends, the connection
//     keeps its own compress/flate writer from its first compressed message
//     on: about 1.2 MB at flate.BestSpeed, about 800 KB at levels 2 to 9
//     and flate.HuffmanOnly.
//   - With context takeover for messages the peer sends, the connection
//     keeps the last 32 KiB the peer sent, from its first compressed
//     message on; the decompressor itself (about 40 KB) is pooled.
//
// compress/flate always compresses with a 32 KiB LZ77 window. When the peer
// asks for a smaller window for the messages this end sends
// (server_max_window_bits below 15 in a client's offer,
// client_max_window_bits below 15 in a server's response; RFC 7692
// §7.1.2), the connection compresses its messages with flate.HuffmanOnly,
// which makes no back-references at all and so keeps within any window:
// the limit is honoured at the cost of a weaker ratio. Dial offers
// client_max_window_bits without a value, as browsers do, so that a server
// may ask for that (§7.1.2.2). A smaller window used by the peer is always
// fine for decompressing: Accept accepts client_max_window_bits with any
// value and answers without it, and Dial accepts server_max_window_bits of
// any value from the server.
type CompressionOptions struct {
	// Level is the compress/flate level for outgoing messages:
	// flate.BestSpeed (1) to flate.BestCompression (9), flate.HuffmanOnly
	// (-2), or flate.DefaultCompression (-1, level 6). Default (0):
	// flate.BestSpeed, the fastest, and the only level whose pooled
	// compressor is cheap to reset between messages; levels 2 to 9 clear
	// 640 KiB of tables per message without context takeover. Other values
	// make Accept and Dial fail.
	Level int

	// Threshold is the size below which a message is sent uncompressed:
	// short messages gain little and cost a compressor. Default (0): 128
	// bytes; negative: compress every message. Messages written with
	// Writer are compressed when Close finds at least Threshold bytes, or
	// as soon as 32 KiB are buffered.
	Threshold int

	// ServerNoContextTakeover makes the server compress every message with
	// an empty window (RFC 7692 §7.1.1.1), so that no compressor is kept
	// for the connection between messages. A client offers
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
}

// ErrInvalidCompressed reports a compressed message that does not inflate
// (RFC 7692 §7.2.2). The connection is failed with close code 1007.
var ErrInvalidCompressed = errors.New("wsproto: compressed message does not inflate")

// checkLevel checks a CompressionOptions.Level and returns the level to use.
func checkLevel(level int) (int, error) {
	switch {
	case level == 0:
		return flate.BestSpeed, nil
	case level == flate.DefaultCompression:
		return 6, nil
	case level == flate.HuffmanOnly, level >= flate.BestSpeed && level <= flate.BestCompression:
		return level, nil
	}
	return 0, fmt.Errorf("wsproto: invalid compression level %d", level)
}

// deflateParams is what the handshake agreed on, seen from this end.
type deflateParams struct {
	level          int  // flate level of outgoing messages
	threshold      int  // shorter messages are sent uncompressed; <= 0: none
	writeNoContext bool // this end compresses each message with an empty window
	readNoContext  bool // the peer compresses each message with an empty window
}

func newDeflateParams(o *CompressionOptions, level int) deflateParams {
	t := o.Threshold
	if t == 0 {
		t = defaultCompressionMin
	}
	return deflateParams{level: level, threshold: t}
}

// RFC 7692 §7.2.1: the sender removes the 4 octets 0x00 0x00 0xff 0xff
// that end a sync flush, and §7.2.2 the receiver appends them again.
var syncTail = [4]byte{0x00, 0x00, 0xff, 0xff}

// inflateTail follows a message's payload into the decompressor: the sync
// flush tail of RFC 7692 §7.2.2, then an empty final stored block, so that
// the decompressor ends the message with io.EOF.
var inflateTail = [...]byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// windowSize is the LZ77 window of DEFLATE (RFC 1951 §2): 32 KiB.
const windowSize = 32 << 10

// Pools of compressors, one per level (flate.HuffmanOnly .. 9), and of
// decompressors. Only connections without context takeover in a direction
// use them, for one message at a time.
var (
	flateWriterPools [flate.BestCompression - flate.HuffmanOnly + 1]sync.Pool
	flateReaderPool  sync.Pool
)

func getFlateWriter(level int, dst io.Writer) *flate.Writer {
	if w, ok := flateWriterPools[level-flate.HuffmanOnly].Get().(*flate.Writer); ok {
		w.Reset(dst)
		return w
	}
	w, _ := flate.NewWriter(dst, level) // level is checked
	return w
}

func putFlateWriter(level int, w *flate.Writer) {
	flateWriterPools[level-flate.HuffmanOnly].Put(w)
}

// noInput is the source a pooled decompressor holds, so that it keeps no
// connection alive.
type noInput struct{}

func (noInput) Read([]byte) (int, error) { return 0, io.EOF }
func (noInput) ReadByte() (byte, error)  { return 0, io.EOF }

// ---- Write side ----

// deflater compresses a connection's outgoing messages. It is touched only
// by the holder of wmsg.
type deflater struct {
	p    deflateParams
	zw   *flate.Writer // with context takeover: the connection's own, from the first message on
	sink deflateSink
}

// deflateSink receives compressed bytes and sends them as the frames of one
// message, holding back the last 4 bytes, which end the message's sync
// flush and are removed (RFC 7692 §7.2.1).
type deflateSink struct {
	c      *Conn
	ctx    context.Context
	op     frame.Opcode
	buf    *[]byte // pooled, writeChunk+4 bytes used
	n      int
	frames int // frames of the message sent so far
	err    error
}

// begin prepares a compressed message and returns its compressor.
func (d *deflater) begin(ctx context.Context, op frame.Opcode) *flate.Writer {
	d.sink.ctx, d.sink.op, d.sink.n, d.sink.frames, d.sink.err = ctx, op, 0, 0, nil
	if d.p.writeNoContext {
		// RFC 7692 §7.2.1 with no context takeover: each message starts
		// with an empty window.
		return getFlateWriter(d.p.level, &d.sink)
	}
	if d.zw == nil {
		d.zw, _ = flate.NewWriter(&d.sink, d.p.level)
	}
	return d.zw
}

// end releases what the message used. err is the message's error.
func (d *deflater) end(zw *flate.Writer, err error) {
	if d.sink.buf != nil {
		writePool.Put(d.sink.buf)
		d.sink.buf = nil
	}
	d.sink.ctx = nil
	if d.p.writeNoContext {
		putFlateWriter(d.p.level, zw)
		return
	}
	if err != nil {
		// The window holds data the peer never received. A compressor
		// with an empty window is always understood by the peer, whose
		// window only grows: start afresh.
		zw.Reset(&d.sink)
	}
}

func (s *deflateSink) Write(b []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.buf == nil {
		s.buf = writePool.Get().(*[]byte)
	}
	buf := (*s.buf)[:writeChunk+len(syncTail)]
	total := len(b)
	for len(b) > 0 {
		m := copy(buf[s.n:], b)
		s.n += m
		b = b[m:]
		if s.n == len(buf) {
			if err := s.frame(false, buf[:writeChunk]); err != nil {
				return 0, err
			}
			s.n = copy(buf, buf[writeChunk:])
		}
	}
	return total, nil
}

// frame sends p as the next frame of the message. RFC 7692 §6: the
// "Per-Message Compressed" bit is set on the first frame only.
func (s *deflateSink) frame(fin bool, p []byte) error {
	op, rsv := frame.OpContinuation, byte(0)
	if s.frames == 0 {
		op, rsv = s.op, frame.Rsv1
	}
	if err := s.c.writeFrame(s.ctx, fin, op, rsv, p); err != nil {
		s.err = err
		return err
	}
	s.frames++
	return nil
}

// finish sends the final frame, after the compressor's Flush.
func (s *deflateSink) finish() error {
	if s.err != nil {
		return s.err
	}
	// RFC 7692 §7.2.1: "Remove 4 octets (that are 0x00 0x00 0xff 0xff)
	// from the tail end."
	if s.buf == nil || s.n < len(syncTail) || !bytes.Equal((*s.buf)[s.n-len(syncTail):s.n], syncTail[:]) {
		s.err = errors.New("wsproto: compressor output does not end with a sync flush")
		return s.err
	}
	return s.frame(true, (*s.buf)[:s.n-len(syncTail)])
}

// writeCompressed sends p as one compressed message. The caller holds wmsg.
func (c *Conn) writeCompressed(ctx context.Context, op frame.Opcode, p []byte) error {
	d := c.dfl
	zw := d.begin(ctx, op)
	_, err := zw.Write(p)
	if err == nil {
		err = zw.Flush()
	}
	if err == nil {
		err = d.sink.finish()
	}
	err = c.compressedWriteDone(err)
	d.end(zw, err)
	return err
}

// compressedWriteDone handles the error of a compressed message. Once a
// frame of the message is out, the peer waits for the rest: a message cut
// short cannot be followed by another, so the connection is closed.
func (c *Conn) compressedWriteDone(err error) error {
	if err == nil || c.dfl.sink.frames == 0 || c.isClosed() {
		return err
	}
	err = c.setErr(fmt.Errorf("wsproto: compressed message cut short: %w", err))
	c.signalCloseRecv()
	c.closeNet()
	return err
}

// compressedFrame returns the frame of pm compressed at level, for server
// connections without context takeover; it is compressed once per level.
func (pm *PreparedMessage) compressedFrame(level int) []byte {
	pm.dmu.Lock()
	defer pm.dmu.Unlock()
	for _, f := range pm.deflated {
		if f.level == level {
			return f.frame
		}
	}
	var out bytes.Buffer
	zw := getFlateWriter(level, &out)
	zw.Write(pm.data) // writes to a bytes.Buffer do not fail
	zw.Flush()
	putFlateWriter(level, zw)
	payload := bytes.TrimSuffix(out.Bytes(), syncTail[:])
	h := frame.Header{Fin: true, Rsv: frame.Rsv1, Opcode: frame.Opcode(pm.typ), Length: int64(len(payload))}
	frame := append(frame.AppendHeader(make([]byte, 0, h.Size()+len(payload)), h), payload...)
	pm.deflated = append(pm.deflated, levelFrame{level, frame})
	return frame
}

type levelFrame struct {
	level int
	frame []byte
}

// ---- Read side ----

// inflater decompresses a connection's incoming messages. It is touched
// only by the holder of rlock.
type inflater struct {
	noContext bool          // the peer starts each message with an empty window
	fr        io.ReadCloser // pooled decompressor of the current message, or nil
	src       inflateSource
	window    []byte   // with context takeover: the last 32 KiB inflated
	out       int64    // bytes inflated of the current message
	probe     [64]byte // readInflated's look for the end of a message
}

// inflateSource hands the decompressor the payload of the current message,
// unmasked, frame after frame, then inflateTail. It is a flate.Reader, so
// the decompressor reads nothing beyond it.
type inflateSource struct {
	c     *Conn
	avail []byte // unmasked payload bytes not yet handed out
	tail  int    // bytes of inflateTail handed out
	err   error  // an error from the connection: I/O, protocol, close
}

// start begins the compressed message whose first frame header was read.
func (f *inflater) start() {
	f.out = 0
	f.src.avail, f.src.tail, f.src.err = nil, 0, nil
}

// more makes payload bytes available; false when the message's payload
// is exhausted or an error is recorded.
func (s *inflateSource) more() bool {
	c := s.c
	if s.err != nil {
		return false
	}
	for c.frameLeft == 0 {
		if !c.inMessage {
			return false
		}
		if err := c.nextFrame(); err != nil {
			s.err = err
			return false
		}
	}
	if c.rend == c.rpos {
		if err := c.fill(1, int(min(c.frameLeft, bigReadSize))); err != nil {
			s.err = err
			return false
		}
	}
	n := int(min(c.frameLeft, int64(c.rend-c.rpos)))
	b := c.rbuf[c.rpos : c.rpos+n]
	c.rpos += n
	if err := c.consumePayload(b); err != nil {
		s.err = err
		return false
	}
	s.avail = b
	return true
}

func (s *inflateSource) ReadByte() (byte, error) {
	if len(s.avail) == 0 && !s.more() {
		if s.err != nil {
			return 0, s.err
		}
		if s.tail == len(inflateTail) {
			return 0, io.EOF
		}
		s.tail++
		return inflateTail[s.tail-1], nil
	}
	b := s.avail[0]
	s.avail = s.avail[1:]
	return b, nil
}

func (s *inflateSource) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(s.avail) == 0 && !s.more() {
		if s.err != nil {
			return 0, s.err
		}
		if s.tail == len(inflateTail) {
			return 0, io.EOF
		}
		n := copy(p, inflateTail[s.tail:])
		s.tail += n
		return n, nil
	}
	n := copy(p, s.avail)
	s.avail = s.avail[n:]
	return n, nil
}

// inflate reads inflated bytes of the current compressed message into p.
// It returns io.EOF with the last bytes of the message, once the message
// was read to its end and checked. Inflated bytes count against the read
// limit as they are produced: a message that inflates past it fails with
// ErrMessageTooBig after at most the limit's worth of output.
func (c *Conn) inflate(p []byte) (int, error) {
	f := c.inf
	if f.fr == nil {
		// RFC 7692 §7.2.2: with context takeover, the window of the
		// previous messages is the dictionary of this one.
		var dict []byte
		if !f.noContext {
			dict = f.window
		}
		if fr, ok := flateReaderPool.Get().(io.ReadCloser); ok {
			fr.(flate.Resetter).Reset(&f.src, dict)
			f.fr = fr
		} else {
			f.fr = flate.NewReaderDict(&f.src, dict)
		}
	}
	n, err := f.fr.Read(p)
	if n > 0 {
		f.out += int64(n)
		if lim := c.readLimit.Load(); lim >= 0 && f.out > lim {
			return n, fmt.Errorf("%w: compressed message inflates to more than the read limit of %d bytes", ErrMessageTooBig, lim)
		}
		// RFC 6455 §8.1 applies to the inflated text (RFC 7692 §6).
		if c.msgType == MessageText && !c.utf8.Write(p[:n]) {
			return n, fmt.Errorf("%w: text message is not valid UTF-8", ErrInvalidUTF8)
		}
		if !f.noContext {
			f.remember(p[:n])
		}
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		return n, c.inflateDone()
	case f.src.err != nil:
		return n, f.src.err
	}
	// RFC 7692 §7.2.2 and RFC 6455 §7.1.7: data that does not inflate
	// fails the connection; 1007 "inconsistent with the type of the
	// message".
	return n, fmt.Errorf("%w: %v", ErrInvalidCompressed, err)
}

// inflateDone ends a compressed message whose decompressor reached its end:
// payload after a final DEFLATE block is discarded, the decompressor goes
// back to the pool, and a text message must not end inside a character.
func (c *Conn) inflateDone() error {
	f := c.inf
	f.src.avail = nil
	for f.src.more() {
		f.src.avail = nil
	}
	if f.src.err != nil {
		return f.src.err
	}
	f.release()
	c.msgCompressed = false
	// RFC 6455 §8.1: a text message whose payload is not valid UTF-8 as a
	// whole fails the connection, also when it ends inside a code point.
	if c.msgType == MessageText && !c.utf8.Done() {
		return fmt.Errorf("%w: text message ends inside a UTF-8 sequence", ErrInvalidUTF8)
	}
	return io.EOF
}

// release returns the decompressor to the pool.
func (f *inflater) release() {
	if f.fr == nil {
		return
	}
	f.fr.(flate.Resetter).Reset(noInput{}, nil)
	flateReaderPool.Put(f.fr)
	f.fr = nil
}

// remember appends inflated bytes to the window, keeping the last 32 KiB.
func (f *inflater) remember(p []byte) {
	if f.window == nil {
		f.window = make([]byte, 0, windowSize)
	}
	if len(p) >= windowSize {
		f.window = append(f.window[:0], p[len(p)-windowSize:]...)
		return
	}
	if over := len(f.window) + len(p) - windowSize; over > 0 {
		f.window = f.window[:copy(f.window, f.window[over:])]
	}
	f.window = append(f.window, p...)
}

// readInflated reads the rest of the current compressed message into mb.
// Its chunks never reach past one byte beyond the read limit, which is
// enough to see that the limit is exceeded: a message that inflates past
// the limit fails having allocated about the limit.
func (c *Conn) readInflated(mb *msgBuffer) error {
	for {
		limit := int64(-1)
		if lim := c.readLimit.Load(); lim >= 0 {
			limit = max(lim-c.inf.out+1, 1)
		}
		var n int
		var err error
		if mb.full() {
			// The decompressor may have nothing more to give but the
			// end of the message: see that before taking a chunk, so
			// that a message that fills the caller's buffer exactly
			// allocates nothing.
			p := c.inf.probe[:]
			if limit >= 0 && limit < int64(len(p)) {
				p = p[:limit]
			}
			n, err = c.inflate(p)
			mb.write(p[:n], limit)
		} else {
			n, err = c.inflate(mb.room(0, limit))
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

// skipCompressed discards the rest of the current compressed message. With
// context takeover it must still be inflated, since the next messages may
// refer to it.
func (c *Conn) skipCompressed() error {
	f := c.inf
	if f.noContext {
		f.src.avail = nil
		for f.src.more() {
			f.src.avail = nil
		}
		if f.src.err != nil {
			return f.src.err
		}
		f.release()
		c.msgCompressed = false
		return nil
	}
	var scratch [512]byte
	for {
		_, err := c.inflate(scratch[:])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
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
