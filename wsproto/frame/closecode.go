package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CloseCode is the status code of a close frame (RFC 6455 §7.4).
type CloseCode uint16

// Status codes defined by RFC 6455 §7.4.1 and registered with IANA in the
// "WebSocket Close Code Number Registry". Codes marked "never sent" are
// reserved for reporting a condition locally and MUST NOT appear on the wire.
const (
	CloseNormal             CloseCode = 1000 // the purpose of the connection was fulfilled
	CloseGoingAway          CloseCode = 1001 // server going down or browser leaving the page
	CloseProtocolError      CloseCode = 1002 // the peer broke the protocol
	CloseUnsupportedData    CloseCode = 1003 // a data type the endpoint cannot accept
	CloseNoStatus           CloseCode = 1005 // never sent: the close frame had no status code
	CloseAbnormal           CloseCode = 1006 // never sent: the connection closed without a close frame
	CloseInvalidPayload     CloseCode = 1007 // data inconsistent with its type, e.g. non-UTF-8 text
	ClosePolicyViolation    CloseCode = 1008 // a message violates the endpoint's policy
	CloseTooBig             CloseCode = 1009 // a message too big to process
	CloseMandatoryExtension CloseCode = 1010 // client: the server did not negotiate a required extension
	CloseInternalError      CloseCode = 1011 // server: an unexpected condition
	CloseServiceRestart     CloseCode = 1012 // server: restarting (IANA registry)
	CloseTryAgainLater      CloseCode = 1013 // server: temporarily overloaded (IANA registry)
	CloseBadGateway         CloseCode = 1014 // gateway: invalid response from upstream (IANA registry)
	CloseTLSHandshake       CloseCode = 1015 // never sent: the TLS handshake failed
)

// String returns the code and its meaning, such as "1000 (normal closure)",
// "3000 (registered)", "4000 (application)" or "2999 (invalid)".
func (c CloseCode) String() string {
	return strconv.Itoa(int(c)) + " (" + c.name() + ")"
}

func (c CloseCode) name() string {
	switch c {
	case CloseNormal:
		return "normal closure"
	case CloseGoingAway:
		return "going away"
	case CloseProtocolError:
		return "protocol error"
	case CloseUnsupportedData:
		return "unsupported data"
	case 1004:
		return "reserved"
	case CloseNoStatus:
		return "no status received"
	case CloseAbnormal:
		return "abnormal closure"
	case CloseInvalidPayload:
		return "invalid frame payload data"
	case ClosePolicyViolation:
		return "policy violation"
	case CloseTooBig:
		return "message too big"
	case CloseMandatoryExtension:
		return "mandatory extension"
	case CloseInternalError:
		return "internal error"
	case CloseServiceRestart:
		return "service restart"
	case CloseTryAgainLater:
		return "try again later"
	case CloseBadGateway:
		return "bad gateway"
	case CloseTLSHandshake:
		return "TLS handshake"
	}
	switch {
	case 3000 <= c && c <= 3999:
		return "registered"
	case 4000 <= c && c <= 4999:
		return "application"
	}
	return "invalid"
}

// Sendable reports whether c may appear in a close frame on the wire:
// 1000-1003, 1007-1014 and 3000-4999.
//
// RFC 6455 §7.4.2 leaves 0-999 unused and reserves 1000-2999 for codes
// defined by the protocol and its extensions, of which only those above are
// defined (1012-1014 by the IANA registry). 1004 is reserved, and §7.4.1 says
// of 1005, 1006 and 1015 that each "MUST NOT be set as a status code in a
// Close control frame by an endpoint". 3000-3999 are registered with IANA for
// libraries and frameworks, 4000-4999 are for private use; both may be sent.
func (c CloseCode) Sendable() bool {
	switch {
	case CloseNormal <= c && c <= CloseUnsupportedData:
		return true
	case CloseInvalidPayload <= c && c <= CloseBadGateway:
		return true
	case 3000 <= c && c <= 4999:
		return true
	}
	return false
}

// CloseError is the status code and reason of a close frame. A Conn returns
// it when the peer has closed the connection; match it with errors.As using
// a CloseError value (not a pointer) as the target, or use CloseStatus.
type CloseError struct {
	Code   CloseCode
	Reason string
}

// Error returns "wsproto: closed: " followed by the code and, if there is
// one, ": " and the reason, quoted when it holds non-printable characters.
func (e CloseError) Error() string {
	s := "wsproto: closed: " + e.Code.String()
	if e.Reason == "" {
		return s
	}
	// The reason comes from the peer: quote it rather than let it put
	// control characters into a log line.
	if strings.IndexFunc(e.Reason, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return s + ": " + strconv.Quote(e.Reason)
	}
	return s + ": " + e.Reason
}

// CloseStatus returns the code of the first CloseError in err's chain, or 0
// if there is none.
func CloseStatus(err error) CloseCode {
	var ce CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// MaxCloseReason is the longest close reason in bytes: a control frame
// carries at most 125 bytes (RFC 6455 §5.5), 2 of which are the status code.
const MaxCloseReason = 125 - 2

// ParseClosePayload parses the payload of a received close frame (RFC 6455
// §5.5.1). An empty payload gives a CloseError with Code CloseNoStatus. The
// returned Reason is a copy, so p may be reused.
//
// Errors wrap ErrProtocol for a payload of 1 byte or more than 125 bytes and
// for a code that is not Sendable, and ErrInvalidUTF8 for a reason that is
// not valid UTF-8.
func ParseClosePayload(p []byte) (CloseError, error) {
	// RFC 6455 §5.5: "All control frames MUST have a payload length of 125
	// bytes or less".
	if len(p) > 125 {
		return CloseError{}, fmt.Errorf("%w: close frame has a payload of %d bytes, more than 125", ErrProtocol, len(p))
	}
	if len(p) == 0 {
		return CloseError{Code: CloseNoStatus}, nil
	}
	// RFC 6455 §5.5.1: "If there is a body, the first two bytes of the body
	// MUST be a 2-byte unsigned integer (in network byte order) representing
	// a status code with value /code/ defined in Section 7.4."
	if len(p) == 1 {
		return CloseError{}, fmt.Errorf("%w: close frame has a payload of 1 byte, too short for a status code", ErrProtocol)
	}
	code := CloseCode(binary.BigEndian.Uint16(p))
	// RFC 6455 §7.4.1: 1005, 1006 and 1015 "MUST NOT be set as a status code
	// in a Close control frame by an endpoint"; §7.4.2: 0-999 "are not used"
	// and 1000-2999 are reserved for codes defined by the protocol and its
	// extensions (see Sendable).
	if !code.Sendable() {
		return CloseError{}, fmt.Errorf("%w: close frame has status code %v, which may not be sent", ErrProtocol, code)
	}
	// RFC 6455 §5.5.1: "Following the 2-byte integer, the body MAY contain
	// UTF-8-encoded data with value /reason/"; §8.1: "When an endpoint is to
	// interpret a byte stream as UTF-8 but finds that the byte stream is not,
	// in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
	// Connection_."
	reason := p[2:]
	if !utf8.Valid(reason) {
		return CloseError{}, fmt.Errorf("%w: close reason %q", ErrInvalidUTF8, reason)
	}
	return CloseError{Code: code, Reason: string(reason)}, nil
}

// AppendClosePayload appends to dst the payload of a close frame with code
// and reason and returns the extended slice. CloseNoStatus appends nothing:
// the payload of a close frame without a status code is empty.
//
// It returns dst unchanged and an error if code is not Sendable (other than
// CloseNoStatus), if reason is longer than MaxCloseReason bytes or is not
// valid UTF-8, or if a reason comes with CloseNoStatus. These errors are the
// caller's mistakes, so they do not wrap ErrProtocol.
func AppendClosePayload(dst []byte, code CloseCode, reason string) ([]byte, error) {
	if code == CloseNoStatus {
		if reason != "" {
			return dst, errors.New("wsproto: a close reason needs a status code, not " + code.String())
		}
		return dst, nil
	}
	if !code.Sendable() {
		return dst, errors.New("wsproto: close code " + code.String() + " may not be sent")
	}
	if len(reason) > MaxCloseReason {
		return dst, fmt.Errorf("wsproto: close reason is %d bytes, more than %d", len(reason), MaxCloseReason)
	}
	if !utf8.ValidString(reason) {
		return dst, fmt.Errorf("wsproto: close reason %q is not valid UTF-8", reason)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...), nil
}
