package frame

import "errors"

// Protocol errors. Each names the class of a failure found in what the peer
// sent, and so the close code an endpoint sends when it fails the
// connection (RFC 6455 §7.1.7, §7.4.1). Errors returned by this package wrap
// one of them with %w and add what exactly was wrong; match them with
// errors.Is. Package wsproto returns the same values.
var (
	// ErrProtocol reports a violation of RFC 6455 framing rules: close code
	// 1002.
	ErrProtocol = errors.New("wsproto: protocol error")

	// ErrInvalidUTF8 reports a text message or close reason that is not
	// valid UTF-8 (RFC 6455 §8.1): close code 1007.
	ErrInvalidUTF8 = errors.New("wsproto: invalid UTF-8")
)
