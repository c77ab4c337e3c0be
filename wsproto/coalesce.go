package wsproto

import (
	"context"
	"fmt"

	"github.com/pushwire/pushwire/internal/wsbatch"
)

// Coalesced replies (internal/wsbatch). A server that answers each message
// as it reads it writes one reply per message, and write(2) is most of its
// CPU time while its reads bring several frames each. With coalescing on,
// a short data frame written while the reader holds more buffered input is
// appended to a pooled buffer (wpend) instead, and the held frames go out
// in one write: with the reply to the last buffered message, before the
// reader reads from the network again (fill), or when wsbatch.Flush is
// called before the reader parks. A message read alone is answered at
// once, so no latency is added. Nothing is held while the connection is
// idle: wpend goes back to the pool at each write.
//
// wheld says what a writer does with a short data frame, under wframe:
//
//	batchOff   write it now (with wpend, if any)
//	batchHold  append it to wpend: the reader holds more input
//	batchLast  the reader returned its last buffered message: write it
//	           now with wpend, and go back to batchOff
//
// Only the reader moves wheld away from batchOff (at the end of Read), and
// only a holder of wframe that writes wpend out moves it back, so wpend is
// empty whenever wheld is batchOff, and a reader that sees batchOff before
// it waits for input knows that nothing is held.
const (
	batchOff = iota
	batchHold
	batchLast
)

func init() {
	wsbatch.Register(wsbatch.Hooks{
		Enable: func(x any) { x.(*Conn).enableBatch() },
		Flush:  func(x any) error { return x.(*Conn).flushIdle() },
	})
}

// enableBatch turns on coalescing; it is the reader's to call. Clients
// (whose frames are masked one by one) and Group members (whose frames
// the Group writes without wframe's holder) are left as they are.
func (c *Conn) enableBatch() {
	if c.client || c.member != nil {
		return
	}
	if err := c.lock(context.Background(), &c.rlock); err != nil {
		return
	}
	c.batch = true
	unlock(&c.rlock)
}

// noteBuffered sets wheld at the end of a Read, holding rlock.
func (c *Conn) noteBuffered() {
	if !c.batch {
		return
	}
	if c.rpos < c.rend {
		c.wheld.Store(batchHold)
		return
	}
	c.wheld.CompareAndSwap(batchHold, batchLast)
}

// flushHeld writes the held frames, if any: the reader calls it before it
// reads from the network.
func (c *Conn) flushHeld() error {
	if c.wheld.Load() == batchOff {
		return nil
	}
	if err := c.lock(context.Background(), &c.wframe); err != nil {
		return err
	}
	defer unlock(&c.wframe)
	return c.writeHeld()
}

// flushIdle is wsbatch's Flush: flushHeld, unless input is buffered (the
// reader's next Read takes it without waiting, and flushes when it has to
// wait).
func (c *Conn) flushIdle() error {
	if c.wheld.Load() == batchOff {
		return nil
	}
	if !c.rlock.tryLock() {
		return nil // a Read is in progress: it flushes before it waits
	}
	buffered := c.rpos < c.rend
	unlock(&c.rlock)
	if buffered {
		return nil
	}
	return c.flushHeld()
}

// writeHeld writes wpend, holding wframe, and sets wheld to batchOff. A
// failed write ends the connection: the frames were accepted by writes
// that returned.
func (c *Conn) writeHeld() error {
	c.wheld.Store(batchOff)
	bp := c.wpend
	if bp == nil {
		return nil
	}
	c.wpend = nil
	_, err := c.nc.Write(*bp)
	putWriteBuf(bp)
	if err != nil {
		return c.heldFailed(err)
	}
	return nil
}

// putWriteBuf gives a buffer of writePool back at its full length, as the
// pool's users take them.
func putWriteBuf(bp *[]byte) {
	*bp = (*bp)[:cap(*bp)]
	writePool.Put(bp)
}

// heldFailed ends the connection after a write that carried held frames
// failed.
func (c *Conn) heldFailed(err error) error {
	if prior := c.ended(); prior != nil && c.isClosed() {
		return prior
	}
	return c.end(fmt.Errorf("wsproto: write failed: %w", err), closeNow)
}

// writeShort writes a frame whose payload is at most copyWriteMax bytes,
// header hdr, holding wframe: copied behind the header into a pooled
// buffer, after the frames held back, and written in one call, or held
// back itself (see batchHold) when it is a data frame (data). It returns the bytes of this frame written
// and whether frames held back were in the write.
func (c *Conn) writeShort(hdr []byte, data bool, p []byte) (written int64, withHeld bool, err error) {
	bp := c.wpend
	if bp == nil {
		bp = writePool.Get().(*[]byte)
		*bp = (*bp)[:0]
	} else if len(*bp)+len(hdr)+len(p) > cap(*bp) {
		c.wpend = nil
		if _, err := c.nc.Write(*bp); err != nil {
			putWriteBuf(bp)
			return 0, true, err
		}
		*bp = (*bp)[:0]
	}
	held := len(*bp)
	b := append(append(*bp, hdr...), p...)
	state := c.wheld.Load()
	if state == batchHold && data && len(b) <= writeChunk {
		*bp = b
		c.wpend = bp
		return int64(len(b) - held), false, nil
	}
	c.wpend = nil
	if state == batchLast {
		c.wheld.Store(batchOff)
	}
	m, err := c.nc.Write(b)
	putWriteBuf(bp)
	return int64(max(m-held, 0)), held > 0, err
}
