package wsproto

import (
	"errors"

	"github.com/pushwire/pushwire/wsproto/frame"
)

// Protocol errors. Each names the class of a failure detected on input from
// the peer and decides the close code this end sends when it fails the
// connection (RFC 6455 §7.1.7, §7.4.1). Errors returned by pushwire wrap one
// of them with %w and add what exactly was wrong; match them with errors.Is.
var (
	// ErrProtocol reports a violation of RFC 6455 framing rules. The
	// connection is failed with close code 1002. It is frame.ErrProtocol.
	ErrProtocol = frame.ErrProtocol

	// ErrInvalidUTF8 reports a text message or close reason that is not
	// valid UTF-8 (RFC 6455 §8.1). The connection is failed with 1007. It is
	// frame.ErrInvalidUTF8.
	ErrInvalidUTF8 = frame.ErrInvalidUTF8

	// ErrMessageTooBig reports a message longer than the read limit. The
	// connection is failed with close code 1009.
	ErrMessageTooBig = errors.New("wsproto: message too big")
)
