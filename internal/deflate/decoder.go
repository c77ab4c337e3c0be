package deflate

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

var (
	// ErrCorrupt reports compressed data that does not inflate (RFC 7692
	// §7.2.2: the receiver inflates the payload as a DEFLATE stream, RFC
	// 1951); the errors returned wrap it with what was wrong.
	ErrCorrupt = errors.New("deflate: compressed data does not inflate")

	// ErrLimit reports a message that inflates to more bytes than the
	// limit given to Begin or AppendMessage.
	ErrLimit = errors.New("deflate: message inflates past the limit")

	// ErrNoMessage reports a Read or Discard without an open message.
	ErrNoMessage = errors.New("deflate: no message open")
)

// inflateTail follows a message's payload into the inflater: the 4 octets
// RFC 7692 §7.2.2 has the receiver append ("Append 4 octets of 0x00 0x00
// 0xff 0xff to the tail end of the payload of the message"), then an
// empty final stored block, so that the inflater ends the message with
// io.EOF.
var inflateTail = [...]byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// Decoder inflates the messages one end of a WebSocket connection
// receives (RFC 7692 §7.2.2).
//
// With context takeover (the default) an idle Decoder keeps the last
// bytes it inflated, as many as the peer's window (2^bits; 512 for 8
// bits, see Reset), for the next message to refer to. Without it, an idle
// Decoder holds nothing. While a message is read the Decoder holds an
// inflater (history, output buffer, decoding tables, input buffer) from a
// pool shared by all Decoders, started with the window as its history.
//
// The zero value inflates a 15-bit window with context takeover; Reset
// chooses otherwise. A Decoder is not safe for concurrent use.
type Decoder struct {
	// With context takeover, win holds the last hlen <= window bytes
	// inflated, as a ring ending before hpos; it is allocated at the end
	// of the first message, with length window.
	win        []byte
	hpos, hlen int32
	st         *inflateState // while a message is open
	out        int64         // bytes inflated of the open message
	limit      int64         // most bytes the open message may inflate to; < 0: no limit
	err        error         // the open message's error, returned again
	wbits      uint8         // 0 means MaxWindowBits
	noTakeover bool
}

// NewDecoder returns a Decoder for a peer compressing with a window of
// 2^windowBits bytes, with context takeover unless noContextTakeover is
// set.
func NewDecoder(windowBits int, noContextTakeover bool) (*Decoder, error) {
	d := new(Decoder)
	if err := d.Reset(windowBits, noContextTakeover); err != nil {
		return nil, err
	}
	return d, nil
}

// Reset makes d inflate messages compressed with a window of
// 2^windowBits bytes (RFC 7692 §7.1.2), with context takeover unless
// noContextTakeover is set (§7.1.1). It drops the window and any open
// message. With an invalid windowBits it returns an error wrapping
// ErrWindowBits and leaves d as it was.
//
// A window of 8 bits keeps 512 bytes. zlib, on which many peers build,
// cannot compress with a 256-byte window; its manual: "a windowBits value
// of 8 (a window size of 256 bytes) is not supported. As a result, a
// request for 8 will result in 9 (a 512-byte window)". A peer that agreed
// to 8 bits may so refer up to 512 bytes back, and this end inflates that.
func (d *Decoder) Reset(windowBits int, noContextTakeover bool) error {
	if err := checkWindowBits(windowBits); err != nil {
		return err
	}
	d.release()
	d.err = nil
	d.wbits = uint8(windowBits)
	d.noTakeover = noContextTakeover
	if noContextTakeover || len(d.win) != d.window() {
		d.win = nil
	}
	d.hpos, d.hlen = 0, 0
	return nil
}

// WindowBits returns the window size the peer compresses with, as a power
// of two.
func (d *Decoder) WindowBits() int {
	if d.wbits == 0 {
		return MaxWindowBits
	}
	return int(d.wbits)
}

// window returns the bytes of history kept.
func (d *Decoder) window() int {
	switch d.wbits {
	case 0:
		return 1 << MaxWindowBits
	case 8:
		return 1 << 9
	}
	return 1 << d.wbits
}

// Begin opens the next message, whose compressed payload src yields: the
// payloads of the message's frames one after another, as received (the
// trailing 00 00 ff ff removed, RFC 7692 §7.2.1), then io.EOF. The
// message may inflate to at most limit bytes; a negative limit means no
// limit. A message still open is dropped as Abort does.
func (d *Decoder) Begin(src io.Reader, limit int64) {
	d.open(limit)
	d.st.src.r = src
}

// BeginBytes is Begin for a payload already in memory: the payloads of
// the message's frames joined, as for Begin. The Decoder reads payload in
// place, without copying it, until the message ends or is dropped; it must
// not change until then.
func (d *Decoder) BeginBytes(payload []byte, limit int64) {
	d.open(limit)
	d.st.src.avail = payload
}

func (d *Decoder) open(limit int64) {
	if d.st != nil {
		d.Abort()
	}
	st, _ := inflatePool.Get().(*inflateState)
	if st == nil {
		st = new(inflateState)
	}
	st.src = source{}
	// RFC 7692 §7.2.2: with context takeover the window of the earlier
	// messages is the dictionary of this one (hlen is 0 without).
	st.inf.reset(&st.src, d.win, int(d.hpos), int(d.hlen))
	d.st, d.out, d.limit, d.err = st, 0, limit, nil
}

// Read reads inflated bytes of the open message into p. At the end of the
// message it returns io.EOF (possibly with the last bytes) and the
// message is closed. Past the limit it returns ErrLimit, having
// delivered exactly limit bytes; compressed data that does not inflate
// gives an error wrapping ErrCorrupt, and an error of the source is
// returned as it is. After any error but io.EOF the message is closed and
// the window is lost (see Abort).
func (d *Decoder) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	st := d.st
	if st == nil {
		return 0, ErrNoMessage
	}
	if d.limit >= 0 {
		room := d.limit - d.out
		if room <= 0 {
			// At the limit: one more byte tells whether it is exceeded.
			n, err := st.inf.Read(st.probe[:])
			if n > 0 {
				return 0, d.fail(fmt.Errorf("%w of %d bytes", ErrLimit, d.limit))
			}
			return 0, d.after(err)
		}
		if int64(len(p)) > room {
			p = p[:room]
		}
	}
	n, err := st.inf.Read(p)
	d.out += int64(n)
	if err != nil {
		return n, d.after(err)
	}
	return n, nil
}

// after handles an error of the inflater.
func (d *Decoder) after(err error) error {
	switch {
	case err == nil:
		return nil
	case err == io.EOF:
		return d.finish()
	case d.st.src.err != nil:
		return d.fail(d.st.src.err)
	}
	return d.fail(fmt.Errorf("%w: %v", ErrCorrupt, err))
}

// finish closes a message whose inflater reached its end: the rest of the
// payload (after a block with BFINAL set, RFC 7692 §7.2.3.4) is read and
// dropped, and with context takeover the message joins the window.
func (d *Decoder) finish() error {
	st := d.st
	if err := st.src.drain(); err != nil {
		return d.fail(err)
	}
	if !d.noTakeover {
		d.merge()
	}
	d.release()
	d.err = io.EOF
	return io.EOF
}

// merge makes the window the last window bytes of the old window and the
// message just inflated: the message's output is added to the ring.
func (d *Decoder) merge() {
	w := d.window()
	if d.win == nil {
		d.win = make([]byte, w)
	}
	out, all := d.st.inf.output()
	if !all || len(out) >= w {
		copy(d.win, out[len(out)-w:])
		d.hpos, d.hlen = 0, int32(w)
		return
	}
	k := copy(d.win[d.hpos:], out)
	copy(d.win, out[k:])
	d.hpos = int32((int(d.hpos) + len(out)) & (w - 1))
	d.hlen = int32(min(w, int(d.hlen)+len(out)))
}

// Pending returns how many inflated bytes of the open message Read can
// return without decoding more, and whether they are all that is left of
// the message. A caller that has read a first piece can so size a buffer
// for the rest of a short message exactly. Pending does no work.
func (d *Decoder) Pending() (n int, end bool) {
	if d.st == nil || d.err != nil {
		return 0, false
	}
	f := &d.st.inf
	return f.wpos - f.rpos, f.err == io.EOF
}

// Discard inflates the rest of the open message without returning it, as
// a message nobody reads must still be inflated when later ones may refer
// to it. It returns nil at the end of the message, or the error Read
// would return.
func (d *Decoder) Discard() error {
	for {
		if d.err != nil {
			if d.err == io.EOF {
				return nil
			}
			return d.err
		}
		st := d.st
		if st == nil {
			return ErrNoMessage
		}
		n, err := st.inf.skip()
		d.out += int64(n)
		if d.limit >= 0 && d.out > d.limit {
			return d.fail(fmt.Errorf("%w of %d bytes", ErrLimit, d.limit))
		}
		if err != nil {
			if err := d.after(err); err != io.EOF {
				return err
			}
		}
	}
}

// AppendMessage inflates the whole message whose compressed payload is
// payload and appends it to dst. It grows dst as the output arrives,
// never beyond len(dst)+limit bytes; a message that inflates to more
// than limit bytes (limit >= 0) gives ErrLimit with dst holding the first
// limit bytes.
func (d *Decoder) AppendMessage(dst, payload []byte, limit int64) ([]byte, error) {
	d.BeginBytes(payload, limit)
	return d.appendAll(dst, limit)
}

// AppendFrom is AppendMessage for a payload that src yields, as for
// Begin: the frames of a message as they arrive.
func (d *Decoder) AppendFrom(dst []byte, src io.Reader, limit int64) ([]byte, error) {
	d.Begin(src, limit)
	return d.appendAll(dst, limit)
}

// appendAll reads the open message to its end into dst.
func (d *Decoder) appendAll(dst []byte, limit int64) ([]byte, error) {
	for {
		// At the limit Read probes for one more byte itself: dst never
		// needs room past the limit. Short of it, a full dst grows only
		// once a byte shows that the message goes on.
		if len(dst) == cap(dst) && (limit < 0 || d.out < limit) {
			var one [1]byte
			n, err := d.Read(one[:])
			if n == 0 {
				if err == io.EOF {
					return dst, nil
				}
				if err != nil {
					return dst, err
				}
				continue
			}
			grow := max(cap(dst), 4<<10)
			if limit >= 0 {
				grow = int(min(int64(grow), limit-d.out+1))
			}
			nb := make([]byte, len(dst), len(dst)+grow)
			copy(nb, dst)
			dst = append(nb, one[0])
		}
		n, err := d.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// Abort drops the open message, if any. With context takeover the window
// is lost as well, since the peer's window now holds a message this end
// did not inflate: later messages that refer to it fail with ErrCorrupt
// rather than inflate wrongly.
func (d *Decoder) Abort() {
	if d.st != nil {
		d.release()
		d.hlen = 0
	}
	d.err = nil
}

// Idle reports whether no message is open.
func (d *Decoder) Idle() bool { return d.st == nil }

// IdleSize returns the bytes an idle Decoder holds beyond the Decoder
// struct itself: the capacity of its window (2^bits, or 512 for 8 bits,
// with context takeover after the first message; 0 without).
func (d *Decoder) IdleSize() int { return cap(d.win) }

func (d *Decoder) fail(err error) error {
	d.release()
	d.hlen = 0
	d.err = err
	return err
}

func (d *Decoder) release() {
	if d.st == nil {
		return
	}
	d.st.src = source{}
	d.st.inf.in = nil // the caller's payload
	d.st.inf.ring = nil
	inflatePool.Put(d.st)
	d.st = nil
}

// inflateState is the pooled part of a Decoder while a message is open.
type inflateState struct {
	inf   inflater
	src   source
	probe [1]byte
}

var inflatePool sync.Pool

// source hands the inflater the compressed payload in pieces, then
// inflateTail.
type source struct {
	r     io.Reader // the payload still to read; nil once at its end
	avail []byte    // payload bytes read but not handed out
	tail  int       // bytes of inflateTail handed out
	err   error     // r's error, other than io.EOF
	buf   [2048]byte
}

// fill makes bytes available; false at the end or on an error of r.
func (s *source) fill() bool {
	for tries := 0; s.r != nil; tries++ {
		if s.err != nil {
			return false
		}
		n, err := s.r.Read(s.buf[:])
		s.avail = s.buf[:n]
		switch {
		case err == io.EOF:
			s.r = nil
		case err != nil:
			s.err = err
		case n == 0 && tries >= 100:
			s.err = io.ErrNoProgress
		}
		if n > 0 {
			return true
		}
	}
	if s.err != nil || s.tail == len(inflateTail) {
		return false
	}
	s.avail = inflateTail[s.tail:]
	s.tail = len(inflateTail)
	return true
}

// drain reads what remains of the payload and drops it.
func (s *source) drain() error {
	s.avail = nil
	for s.r != nil && s.fill() {
		s.avail = nil
	}
	return s.err
}
