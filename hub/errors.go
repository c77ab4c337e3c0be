package hub

import (
	"errors"
	"fmt"
)

// Errors returned by the hub. Errors that carry details wrap one of these
// with %w; match them with errors.Is.
var (
	// ErrClosed reports that the topic, the hub or the subscription is
	// closed. Readers get it only after they have read every entry that was
	// published before the close; Publish gets it at once.
	ErrClosed = errors.New("hub: closed")

	// ErrSlowConsumer is returned by Subscription.Next of a topic with the
	// Drop policy once the subscriber has more than QueueLen unread entries
	// that were published after it subscribed. The subscription stays
	// failed: every later Next returns the same error.
	ErrSlowConsumer = errors.New("hub: slow consumer")

	// ErrCursorAhead reports a cursor after the last entry ever published to
	// the topic. The client cannot have seen such an entry from this log: it
	// forged the cursor, or it got it from an earlier log of the same name
	// (say, before a restart of an in-memory hub).
	ErrCursorAhead = errors.New("hub: cursor ahead of the log")

	// ErrInvalidCursor reports a string that is not the wire form of a
	// cursor (see ParseCursor).
	ErrInvalidCursor = errors.New("hub: malformed cursor")

	// ErrTooLarge reports an entry whose size (len(Type)+len(Data)) is above
	// the topic's MaxBytes, so that the log could never hold it.
	ErrTooLarge = errors.New("hub: entry too large")

	// ErrTooManyTopics reports that the hub already holds Options.MaxTopics
	// topics and cannot create another one.
	ErrTooManyTopics = errors.New("hub: too many topics")
)

// GapError reports a cursor older than the log: entries after it were
// published but are no longer held, because the log is bounded. The reader
// is told so explicitly instead of being moved forward in silence. Match it
// with errors.As:
//
//	var gap hub.GapError
//	if errors.As(err, &gap) {
//		// tell the client that gap.Lost entries are gone
//	}
//
// The read that returns a GapError also returns the cursor that continues
// from the oldest entry still held, After(Oldest-1); a subscription moves
// there by itself, so its next Next returns entry Oldest.
type GapError struct {
	// After is the cursor position the reader asked to read after.
	After Seq
	// Oldest is the sequence number of the oldest entry the log still holds.
	Oldest Seq
	// Lost is the number of entries after After that the log no longer
	// holds: Oldest - After - 1.
	Lost uint64
}

// Error implements the error interface.
func (e GapError) Error() string {
	return fmt.Sprintf("hub: gap: %d entries after %d are no longer held, oldest held is %d", e.Lost, e.After, e.Oldest)
}

// gapError returns the GapError for a reader after seq after, in a log whose
// oldest held entry is oldest (oldest > after+1).
func gapError(after, oldest Seq) error {
	return GapError{After: after, Oldest: oldest, Lost: uint64(oldest - after - 1)}
}

// aheadError returns the error for a cursor after the last published entry.
func aheadError(after, head Seq) error {
	return fmt.Errorf("%w: cursor %d, last published %d", ErrCursorAhead, after, head)
}
