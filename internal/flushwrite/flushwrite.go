// Package flushwrite writes to a long-lived HTTP response, as the streaming
// transports do: every write under a fresh write deadline, and flushed.
// sseproto's Stream and httpstream's streamed responses share it.
//
// Moving the deadline before each write both drops a client that stalls
// for longer than the timeout and keeps http.Server.WriteTimeout from
// cutting a stream that is alive.
package flushwrite

import (
	"errors"
	"net/http"
	"time"
)

// Writer writes to an http.ResponseWriter. It is not safe for concurrent
// use; its owner serializes writes.
type Writer struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration // > 0: the deadline set before each write
}

// New returns a Writer for w whose writes may take up to timeout each;
// timeout <= 0 leaves the deadline alone.
func New(w http.ResponseWriter, timeout time.Duration) Writer {
	return Writer{w: w, rc: http.NewResponseController(w), timeout: timeout}
}

// SetDeadline moves the write deadline timeout into the future. A
// ResponseWriter that cannot set deadlines (http.ErrNotSupported) is not an
// error: its writes stay unbounded, as they would be without a Writer.
func (w *Writer) SetDeadline() error {
	if w.timeout <= 0 {
		return nil
	}
	err := w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	if errors.Is(err, http.ErrNotSupported) {
		w.timeout = 0
		return nil
	}
	return err
}

// Write writes b under a fresh deadline and flushes the response. An empty
// b only moves the deadline and flushes.
func (w *Writer) Write(b []byte) error {
	if err := w.SetDeadline(); err != nil {
		return err
	}
	if len(b) > 0 {
		if _, err := w.w.Write(b); err != nil {
			return err
		}
	}
	return w.rc.Flush()
}

// Flush flushes the response, returning http.ErrNotSupported (wrapped)
// when w cannot flush.
func (w *Writer) Flush() error { return w.rc.Flush() }
