package sseproto

import (
	"errors"
	"time"
)

// Event is one server-sent event.
//
// A Decoder fills Type, Data and ID the way the HTML standard builds the
// MessageEvent it dispatches: Type is the event type ("message" when the
// stream named none), Data the data lines joined with LF, and ID the last
// event ID in force when the event was dispatched (MessageEvent.lastEventId),
// which may have been set by an earlier event. A Decoder leaves Retry zero;
// see Decoder.Retry.
//
// An Encoder writes Type as the event field when it is not empty, ID as the
// id field when it is not empty, Retry as the retry field when it is
// positive, and Data as one or more data fields. Every encoded Event
// dispatches exactly one event at the receiver.
type Event struct {
	// Type is the event type. Decoded events never have an empty Type.
	Type string
	// Data is the event's data. A decoded Data is valid UTF-8.
	Data string
	// ID is the last event ID (decoding) or the id field to send (encoding).
	ID string
	// Retry, when positive, is sent as the retry field: the reconnection
	// time the receiver should use, in whole milliseconds (rounded up).
	Retry time.Duration
}

// Sentinel errors. Decoder errors end the stream; Encoder errors leave
// the Encoder usable and write nothing.
var (
	// ErrLineTooLong is returned by a Decoder when a line is longer than
	// its MaxEventSize.
	ErrLineTooLong = errors.New("sseproto: line too long")
	// ErrEventTooLarge is returned by a Decoder when an event's data is
	// larger than its MaxEventSize.
	ErrEventTooLarge = errors.New("sseproto: event too large")
	// ErrInvalidEvent is returned (wrapped, with the reason) by an Encoder
	// for an Event or comment that cannot be written without producing a
	// malformed stream or changing its meaning.
	ErrInvalidEvent = errors.New("sseproto: invalid event")
)
