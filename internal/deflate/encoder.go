package deflate

import (
	"errors"
	"fmt"
	"sync"
)

const (
	// MinWindowBits and MaxWindowBits bound the LZ77 window sizes that
	// permessage-deflate negotiates (RFC 7692 §7.1.2: "a decimal integer
	// value ... between 8 to 15, inclusive").
	MinWindowBits = 8
	MaxWindowBits = 15

	// maxBlock is the most input one DEFLATE block takes: a stored block
	// holds at most 65535 bytes (RFC 1951 §3.2.4), so an incompressible
	// block costs one 5-byte stored-block header.
	maxBlock = maxStored
)

// ErrWindowBits reports a window size outside MinWindowBits..MaxWindowBits.
var ErrWindowBits = errors.New("deflate: window bits outside 8..15")

func checkWindowBits(bits int) error {
	if bits < MinWindowBits || bits > MaxWindowBits {
		return fmt.Errorf("%w: %d", ErrWindowBits, bits)
	}
	return nil
}

// Encoder compresses the messages one end of a WebSocket connection sends,
// as permessage-deflate (RFC 7692 §7.2.1) defines: each message is a
// sequence of DEFLATE blocks (RFC 1951) ending with a sync flush whose
// final 4 octets 00 00 ff ff are left out.
//
// With context takeover (the default) an idle Encoder keeps the last
// 2^bits bytes it compressed, the window its peer keeps for inflating
// the next message (RFC 7692 §7.1.1); back-references never reach further
// than that window. Without it, an idle Encoder holds nothing. While a
// message is being compressed the Encoder holds a scratch area (history
// copy, hash table, Huffman work space) from a pool shared by all
// Encoders, which goes back when the message ends.
//
// The zero value compresses with a 15-bit window and context takeover;
// Reset chooses otherwise. An Encoder is not safe for concurrent use.
type Encoder struct {
	// With context takeover, hist holds the last hlen <= window bytes
	// sent, as a ring ending before hpos; it is allocated at the end of
	// the first message, with length window.
	hist       []byte
	hpos, hlen int
	s          *scratch // while a message is open
	bits       uint64   // output bits not yet in a whole byte
	nbits      uint
	wbits      uint8 // window bits; 0 means MaxWindowBits
	noTakeover bool
}

// NewEncoder returns an Encoder for a window of 2^windowBits bytes, with
// context takeover unless noContextTakeover is set.
func NewEncoder(windowBits int, noContextTakeover bool) (*Encoder, error) {
	e := new(Encoder)
	if err := e.Reset(windowBits, noContextTakeover); err != nil {
		return nil, err
	}
	return e, nil
}

// Reset makes e compress with a window of 2^windowBits bytes (RFC 7692
// §7.1.2: server_max_window_bits or client_max_window_bits as
// negotiated), with context takeover unless noContextTakeover is set
// (§7.1.1). It drops the history and any open message. With an invalid
// windowBits it returns an error wrapping ErrWindowBits and leaves e as it
// was.
//
// A window of 8 bits is honoured as it is: no back-reference reaches
// further than 256 bytes, which every decoder inflates (zlib, which
// cannot compress with a 256-byte window and uses 512 bytes instead,
// inflates one). The Decoder is lenient the other way; see
// Decoder.Reset.
func (e *Encoder) Reset(windowBits int, noContextTakeover bool) error {
	if err := checkWindowBits(windowBits); err != nil {
		return err
	}
	e.Abort()
	e.wbits = uint8(windowBits)
	e.noTakeover = noContextTakeover
	if noContextTakeover || len(e.hist) != 1<<windowBits {
		e.hist = nil
	}
	e.hpos, e.hlen = 0, 0
	return nil
}

// window returns the window size in bytes.
func (e *Encoder) window() int {
	if e.wbits == 0 {
		return 1 << MaxWindowBits
	}
	return 1 << e.wbits
}

// WindowBits returns the window size as a power of two.
func (e *Encoder) WindowBits() int {
	if e.wbits == 0 {
		return MaxWindowBits
	}
	return int(e.wbits)
}

// Append compresses p as the next part of the current message, starting
// one if none is open, and appends to dst the compressed bytes that are
// complete. The Encoder buffers up to 64 KiB of input and a few bits of
// output: Flush or Finish emits them. Input is compressed in blocks of
// 65535 bytes whatever the pieces it arrives in, so the output does not
// depend on how a message is cut into Append calls.
func (e *Encoder) Append(dst, p []byte) []byte {
	if e.s == nil {
		e.begin()
	}
	s := e.s
	for len(p) > 0 {
		if s.end == bufSize {
			s.slide(e.window())
		}
		k := copy(s.buf[s.end:min(bufSize, s.pend+maxBlock)], p)
		s.end += k
		s.n += k
		p = p[k:]
		if s.end-s.pend == maxBlock {
			dst = e.block(dst)
		}
	}
	return dst
}

// Flush compresses what the current message has buffered and appends
// all of it to dst, ending with a sync flush (an empty stored block,
// RFC 1951 §3.2.4) so that the peer can inflate every byte written so far.
// The message stays open. A message does not need Flush before Finish.
func (e *Encoder) Flush(dst []byte) []byte {
	if e.s == nil {
		e.begin()
	}
	if e.s.end > e.s.pend {
		dst = e.block(dst)
	}
	dst = e.syncMarker(dst)
	return append(dst, 0x00, 0x00, 0xff, 0xff)
}

// Finish ends the current message (an empty one if none is open) and
// appends the rest of its compressed bytes to dst: the last block and the
// sync flush that RFC 7692 §7.2.1 requires, without the final 4 octets
// 00 00 ff ff, which the sender removes ("Remove 4 octets (that are 0x00
// 0x00 0xff 0xff) from the tail end"). An empty message compresses to the
// single byte 0x00.
//
// With context takeover the message becomes part of the window the next
// message may refer to.
func (e *Encoder) Finish(dst []byte) []byte {
	if e.s == nil {
		e.begin()
	}
	s := e.s
	if s.end > s.pend {
		dst = e.block(dst)
	}
	dst = e.syncMarker(dst)
	if !e.noTakeover {
		e.remember(s.buf[s.msg:s.end], s.n)
	}
	e.release()
	return dst
}

// remember adds the end of a message to the history: tail holds the last
// bytes of a message of n bytes (all of them, or at least a window's).
func (e *Encoder) remember(tail []byte, n int) {
	w := e.window()
	if e.hist == nil {
		e.hist = make([]byte, w)
	}
	if len(tail) >= w || n >= w {
		e.hpos, e.hlen = 0, w
		copy(e.hist, tail[len(tail)-w:])
		return
	}
	k := copy(e.hist[e.hpos:], tail)
	copy(e.hist, tail[k:])
	e.hpos = (e.hpos + len(tail)) & (w - 1)
	e.hlen = min(w, e.hlen+len(tail))
}

// AppendMessage compresses msg as one whole message and appends it to dst:
// Append followed by Finish. A message left open by Append is continued.
// The bytes appended are at most MaxEncodedLen(len(msg)) for a message
// that was not open.
func (e *Encoder) AppendMessage(dst, msg []byte) []byte {
	return e.Finish(e.Append(dst, msg))
}

// Abort drops the open message, if any, without output. The history is
// what it was before that message: when the peer has received none of
// its bytes, the next message can follow as if it had not been begun. A
// message whose bytes have been sent in part cannot be taken back; the
// connection is then unusable (RFC 6455 §5.4).
func (e *Encoder) Abort() {
	e.release()
}

// Idle reports whether no message is open.
func (e *Encoder) Idle() bool { return e.s == nil }

// IdleSize returns the bytes an idle Encoder holds beyond the Encoder
// struct itself: its history (2^bits with context takeover after the
// first message, 0 without).
func (e *Encoder) IdleSize() int { return cap(e.hist) }

// release ends the message state and returns the scratch area.
func (e *Encoder) release() {
	if e.s != nil {
		scratchPool.Put(e.s)
		e.s = nil
	}
	e.bits, e.nbits = 0, 0
}

// syncMarker appends an empty stored block header (BFINAL 0, BTYPE 00)
// and the padding to the next byte boundary (RFC 1951 §3.2.4): the part
// of a sync flush before LEN and NLEN.
func (e *Encoder) syncMarker(dst []byte) []byte {
	e.nbits += 3
	for e.nbits > 0 {
		dst = append(dst, byte(e.bits))
		e.bits >>= 8
		e.nbits -= min(8, e.nbits)
	}
	e.bits, e.nbits = 0, 0
	return dst
}

// begin opens a message. The message's input starts at msgStart in the
// scratch buffer; the history goes in front of it when the first block
// is compressed, as much of it as that block makes worth indexing.
func (e *Encoder) begin() {
	s, _ := scratchPool.Get().(*scratch)
	if s == nil {
		s = newScratch()
	}
	s.start()
	s.fresh = e.hlen > 0
	e.s = s
	e.bits, e.nbits = 0, 0
}

// block compresses the pending input of the open message as one block.
func (e *Encoder) block(dst []byte) []byte {
	s := e.s
	e.steps()
	dst = e.writeBlock(dst, s.buf[s.pend:s.end])
	s.pend = s.end
	return dst
}

// steps finds the LZ77 steps of the pending input (lz77), with the
// history in front of it for the first block of a message.
func (e *Encoder) steps() {
	s := e.s
	w := e.window()
	// Loads of 8 bytes may pass the end of the input: they read zeros.
	clear(s.buf[s.end : s.end+8])
	if s.fresh {
		// The last k bytes of the history ring, oldest first, in front of
		// the message (see histSpan).
		s.fresh = false
		k := min(e.hlen, histSpan(s.end-s.pend, w))
		h := len(e.hist)
		from := (e.hpos - k) & (h - 1)
		s.lo = s.msg - k
		if from+k <= h {
			copy(s.buf[s.lo:], e.hist[from:from+k])
		} else {
			n := copy(s.buf[s.lo:], e.hist[from:])
			copy(s.buf[s.lo+n:], e.hist[:k-n])
		}
		s.indexHistory(s.lo, s.msg)
	}
	s.lz77(s.buf[:s.end+8], s.lo, s.pend, s.end, w)
}

// ---- scratch space ----

const (
	tableBits = 14
	tableSize = 1 << tableBits

	// bufSize holds a full window of history and one block of input;
	// a message's input starts at msgStart.
	bufSize  = msgStart + maxBlock
	msgStart = 1 << MaxWindowBits

	// baseGap separates the table positions of successive messages on the
	// same scratch: every position of an earlier message is further back
	// than any window.
	baseGap = 1<<MaxWindowBits + 1
)

// seq is one LZ77 step: lit literals, then a match of mlen bytes (0 for
// none, in the last step of a block) at distance dist.
type seq struct {
	lit  uint32
	mlen uint16
	dist uint16
}

// scratch is the pooled work space of one message being compressed.
type scratch struct {
	buf   []byte // history, then the message's input
	lo    int    // start of the history in buf: bytes before it are not used
	end   int    // end of the input in buf
	pend  int    // start of the input not compressed yet
	msg   int    // start of the message in buf, until it slides away
	n     int    // bytes of input in the message
	base  uint32 // table position of buf[0]
	fresh bool   // history not yet indexed in table

	// table maps a hash of 5 bytes to the position (base + index in buf)
	// where they were last seen, in its low 32 bits, and the first 4 of
	// those bytes, in its high 32 bits. Entries left by earlier messages
	// are never used: base moves past them (see start).
	table [tableSize]uint64
	seqs  []seq

	litFreq   [numLitLen]uint32
	distFreq  [numDist]uint32
	clFreq    [numCodeLen]uint32
	litLens   [numLitLen]uint8
	distLens  [numDist]uint8
	clLens    [numCodeLen]uint8
	litCodes  [numLitLen]uint32
	distCodes [numDist]uint32
	clCodes   [numCodeLen]uint32
	lenCodes  [256]uint32 // length-3 to its code with the extra bits
	allLens   [numLitLen + numDist]uint8
	rle       [numLitLen + numDist]uint16 // code length symbol | extra<<8
	rleLen    int
	extraBits int // extra bits of the block's lengths and distances
	nsym      int // literal/length symbols of the block, end of block included
	hclen     int // code length code lengths sent (HCLEN+4)
	huff      huffBuilder
}

var scratchPool sync.Pool

func newScratch() *scratch {
	return &scratch{
		buf:  make([]byte, bufSize+8),
		seqs: make([]seq, 0, maxBlock/4+2),
		base: baseGap,
	}
}

// start prepares s for a message.
func (s *scratch) start() {
	// Move base past every position the table may hold, so that they all
	// lie outside any window. Near the end of the uint32 range, start
	// over with an empty table instead.
	next := uint64(s.base) + uint64(s.end) + baseGap
	if next > 1<<31 {
		clear(s.table[:])
		next = baseGap
	}
	s.base = uint32(next)
	s.lo, s.end, s.pend, s.msg, s.n = msgStart, msgStart, msgStart, msgStart, 0
	s.fresh = false
}

// slide drops input that has left the window, keeping the last w bytes
// before the pending input.
func (s *scratch) slide(w int) {
	drop := s.pend - w
	if drop <= 0 {
		return
	}
	copy(s.buf, s.buf[drop:s.end])
	s.msg = max(0, s.msg-drop)
	s.lo = max(0, s.lo-drop)
	if uint64(s.base)+uint64(drop) > 1<<31 {
		// A message of gigabytes: start the table over.
		clear(s.table[:])
		s.base = baseGap
	} else {
		s.base += uint32(drop)
	}
	s.end -= drop
	s.pend -= drop
}

// MaxEncodedLen returns the most bytes AppendMessage, or Append and
// Finish without Flush, append for a message of n bytes: what stored
// blocks take (RFC 1951 §3.2.4: 5 bytes per 65535, padding included) and
// the message's ending.
func MaxEncodedLen(n int) int {
	return n + 6*((n+maxBlock-1)/maxBlock) + 2
}

// TrimSyncTail removes the 4 octets 00 00 ff ff that end a sync flush
// from the end of b, as RFC 7692 §7.2.1 has the sender do ("Remove 4
// octets (that are 0x00 0x00 0xff 0xff) from the tail end"), and reports
// whether they were there. It serves output of other DEFLATE compressors;
// Finish never writes them.
func TrimSyncTail(b []byte) ([]byte, bool) {
	n := len(b)
	if n < 4 || b[n-4] != 0x00 || b[n-3] != 0x00 || b[n-2] != 0xff || b[n-1] != 0xff {
		return b, false
	}
	return b[:n-4], true
}
