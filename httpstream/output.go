package httpstream

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/pushwire/pushwire/internal/flushwrite"
)

// An output is where a streamed response's bytes go: a connection taken
// from net/http (h1Output), or a ResponseWriter (rwOutput).
type output interface {
	// write sends b, which starts chunkReserve bytes into its slice: the
	// room for a chunk's size line in front of it. It may write in front
	// of b and after it.
	write(buf []byte) error
	// end ends the response: cleanly (a last chunk) unless the stream
	// ended on an error or with the client gone.
	end(why endReason, err error)
}

// chunkReserve is the room left at the start of each write buffer for an
// HTTP/1.1 chunk's size line: up to 8 hexadecimal digits and CRLF.
const chunkReserve = 10

// Write buffers come from a pool: a stream holds one only while it
// writes. Buffers that grew beyond maxPooledBuf are dropped.
const (
	writeBufSize = 4096
	maxPooledBuf = 64 << 10
)

var writeBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, writeBufSize)
	return &b
}}

// respWriter is the part of the HTTP sinks that buffers and writes: the
// sink appends to b(), and flush hands the buffer to the output and gives
// it back to the pool.
type respWriter struct {
	out output
	pb  *[]byte // the pooled buffer buf belongs to, or nil
	buf []byte  // buf[chunkReserve:] is what the sink appended
}

// b returns the buffer to append to, taking one from the pool if the
// writer holds none.
func (rw *respWriter) b() []byte {
	if rw.pb == nil {
		rw.pb = writeBufs.Get().(*[]byte)
		rw.buf = append((*rw.pb)[:0], make([]byte, chunkReserve)...)
	}
	return rw.buf
}

// flush writes what was appended, under a fresh write deadline, and
// flushes the response; see Options.WriteTimeout.
func (rw *respWriter) flush() error {
	if rw.pb == nil {
		return nil
	}
	var err error
	if len(rw.buf) > chunkReserve && rw.out != nil {
		err = rw.out.write(rw.buf)
	}
	rw.release()
	return err
}

// release gives the buffer back to the pool.
func (rw *respWriter) release() {
	if rw.pb == nil {
		return
	}
	if cap(rw.buf) <= maxPooledBuf {
		*rw.pb = rw.buf[:0]
		writeBufs.Put(rw.pb)
	}
	rw.pb, rw.buf = nil, nil
}

// end ends the output.
func (rw *respWriter) end(why endReason, err error) {
	rw.release()
	if rw.out != nil {
		rw.out.end(why, err)
	}
}

// pad appends a line of n bytes (spaces, then a line feed), which clients
// skip: it pushes a streamed response past the buffering of browsers and
// proxies that hold back the first bytes.
func (rw *respWriter) pad(n int) {
	if n > 0 {
		b := rw.b()
		for range n - 1 {
			b = append(b, ' ')
		}
		rw.buf = append(b, '\n')
	}
}

// rwOutput writes to a ResponseWriter, each write flushed under a fresh
// deadline: the response of an HTTP/2 stream, or of a ResponseWriter that
// cannot be taken over.
type rwOutput struct {
	fw flushwrite.Writer
}

func newRWOutput(w http.ResponseWriter, timeout time.Duration) *rwOutput {
	return &rwOutput{fw: flushwrite.New(w, timeout)}
}

func (o *rwOutput) write(buf []byte) error { return o.fw.Write(buf[chunkReserve:]) }

// end leaves the end of the response to net/http, which ends it when the
// handler returns.
func (o *rwOutput) end(endReason, error) {}

// endsCleanly reports whether a stream that ended so should end its
// response with a proper end (the last chunk), rather than by closing the
// connection: yes unless the client is gone or a write failed.
func endsCleanly(why endReason, err error) bool {
	switch why {
	case endPeer:
		return false
	case endError:
		return errors.Is(err, errSlowConsumer)
	}
	return true
}

// appendChunk frames buf[chunkReserve:] as one chunk of a chunked body
// (RFC 9112 §7.1): the size in hexadecimal and CRLF in the room before it,
// CRLF after it. It returns the chunk, which starts inside buf.
func appendChunk(buf []byte) []byte {
	n := len(buf) - chunkReserve
	var size [8]byte
	hex := strconv.AppendUint(size[:0], uint64(n), 16)
	start := chunkReserve - len(hex) - 2
	copy(buf[start:], hex)
	buf[chunkReserve-2], buf[chunkReserve-1] = '\r', '\n'
	buf = append(buf, '\r', '\n')
	return buf[start:]
}
