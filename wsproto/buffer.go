package wsproto

// How Read holds a message while it arrives. This file is the one place
// where the size of a message buffer is decided: from the bytes that
// arrived, never from a length a peer announced.

const (
	// firstChunk is the most memory Read commits to a message before any of
	// its payload has arrived, when a frame header announces at least that
	// much; a shorter frame gets exactly its length.
	firstChunk = 16 << 10
	// minChunk is the smallest chunk when nothing tells the size (a
	// compressed message, whose inflated size is unknown).
	minChunk = 4 << 10
	// maxChunk bounds one chunk, and so what a message may hold beyond the
	// bytes it received once it is large.
	maxChunk = 1 << 20
	// reuseMax is the largest buffer ReuseBuffer hands back for reuse.
	reuseMax = 64 << 10
)

// msgBuffer collects the payload of one message for Read: first into the
// spare capacity of the caller's buffer, then into chunks allocated as the
// payload arrives, each as large as what arrived so far (at least minChunk,
// at most maxChunk), so that the memory held is at most twice the bytes
// received plus firstChunk, and at most the bytes received plus maxChunk
// once they exceed it. bytes joins the chunks once the message is complete.
// A peer that announces a gigabyte and sends one byte costs one chunk.
//
// The zero value is not usable; start with newMsgBuffer. It lives on the
// stack of Read: steady-state reading with a buffer that is large enough
// allocates nothing.
type msgBuffer struct {
	buf    []byte   // the caller's buffer, holding the first bytes
	chunks [][]byte // the bytes beyond cap(buf), each chunk full but the last
	n      int64    // bytes held in all
}

func newMsgBuffer(buf []byte) msgBuffer { return msgBuffer{buf: buf[:0]} }

// room returns where the next bytes of the message go: a non-empty slice of
// at most limit bytes (no bound when limit < 0). hint, when positive, is
// how many more bytes a frame header announced: a new chunk is no larger,
// and may be that large up to firstChunk before anything arrived.
func (b *msgBuffer) room(hint, limit int64) []byte {
	var r []byte
	if len(b.chunks) == 0 {
		r = b.buf[len(b.buf):cap(b.buf)]
	} else {
		last := b.chunks[len(b.chunks)-1]
		r = last[len(last):cap(last)]
	}
	if len(r) == 0 {
		size := min(max(b.n, minChunk), maxChunk)
		if hint > 0 {
			size = min(max(size, firstChunk), hint)
		}
		if limit >= 0 {
			size = min(size, limit)
		}
		r = make([]byte, 0, max(size, 1))
		b.chunks = append(b.chunks, r)
		r = r[:cap(r)]
	}
	if limit >= 0 && int64(len(r)) > limit {
		r = r[:max(limit, 1)]
	}
	return r
}

// full reports whether the next bytes need a new chunk.
func (b *msgBuffer) full() bool {
	if len(b.chunks) == 0 {
		return len(b.buf) == cap(b.buf)
	}
	last := b.chunks[len(b.chunks)-1]
	return len(last) == cap(last)
}

// write appends p, taking room as room(hint, limit) would.
func (b *msgBuffer) write(p []byte, hint, limit int64) {
	for len(p) > 0 {
		n := copy(b.room(hint, limit), p)
		b.commit(n)
		p = p[n:]
	}
}

// commit records that n bytes were written to the slice room returned.
func (b *msgBuffer) commit(n int) {
	if n == 0 {
		return
	}
	b.n += int64(n)
	if len(b.chunks) == 0 {
		b.buf = b.buf[:len(b.buf)+n]
		return
	}
	i := len(b.chunks) - 1
	b.chunks[i] = b.chunks[i][:len(b.chunks[i])+n]
}

// bytes returns the message: the caller's buffer when it held all of it,
// the one chunk when that did, or else one new slice of exactly the
// message's length.
func (b *msgBuffer) bytes() []byte {
	switch {
	case len(b.chunks) == 0:
		return b.buf
	case len(b.buf) == 0 && len(b.chunks) == 1:
		return b.chunks[0]
	}
	out := make([]byte, 0, b.n)
	out = append(out, b.buf...)
	for _, c := range b.chunks {
		out = append(out, c...)
	}
	return out
}

// partial returns what an interrupted Read hands back: the caller's buffer
// with the first bytes of the message, which the chunks are not joined to.
func (b *msgBuffer) partial() []byte { return b.buf }

// ReuseBuffer returns what to pass as buf to the next Read once the caller
// is done with msg, a message an earlier Read returned: msg's storage when
// its capacity is at most 64 KiB, so that steady-state reading allocates
// nothing, and nil after a larger message, so that a connection that waits
// for its next message does not keep the buffer of a rare large one:
//
//	var buf []byte
//	for {
//		typ, msg, err := c.Read(ctx, buf)
//		...
//		buf = wsproto.ReuseBuffer(msg)
//	}
func ReuseBuffer(msg []byte) []byte {
	if cap(msg) > reuseMax {
		return nil
	}
	return msg[:0]
}
