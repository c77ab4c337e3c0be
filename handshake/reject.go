package handshake

import (
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"path"
	"strconv"
	"strings"

	"github.com/pushwire/pushwire/internal/oneline"
)

// RejectError is the server's refusal of an opening handshake: the HTTP
// status to answer with, a one-line reason sent as the body, and extra
// response headers. CheckRequest and CheckOrigin return it; Reject writes
// it. Match it with errors.As.
type RejectError struct {
	// Status is the HTTP status code: 400 Bad Request, 403 Forbidden,
	// 405 Method Not Allowed or 426 Upgrade Required from this package.
	Status int
	// Reason says in one line what was wrong, e.g. "Sec-WebSocket-Key must
	// be base64 of 16 bytes, got 12". It contains no CR or LF.
	Reason string
	// Header holds extra response headers, e.g. "Allow: GET" with 405 or
	// "Sec-WebSocket-Version: 13" with 426. It may be nil.
	Header http.Header
}

// Error returns "handshake: <status> <status text>: <reason>".
func (e *RejectError) Error() string {
	return "handshake: " + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status) + ": " + e.Reason
}

// Reject writes err as the HTTP response to a refused opening handshake.
// The request must not have been hijacked and no header written yet.
//
// If err is or wraps a *RejectError, its Status, Reason and Header are
// used; a Status outside 400–599 is replaced by 400 so that a refusal can
// never read as success, and an empty Reason by the status text. Otherwise
// the status is 403 Forbidden for an error wrapping path.ErrBadPattern (a
// malformed CheckOrigin pattern: an origin policy that cannot be evaluated
// refuses), with the reason "origin policy could not be evaluated", since
// the pattern is server configuration that the client has no business
// seeing; 400 Bad Request with the error's text for an error wrapping
// ErrMalformed (it describes the client's own header); and 400 Bad Request
// with the reason "bad WebSocket handshake request" for any other error,
// nil included, whose text might describe the server.
//
// The body is the reason, with control characters replaced by spaces, and
// "\n". The response carries "Content-Type: text/plain; charset=utf-8" and
// "X-Content-Type-Options: nosniff", "Sec-WebSocket-Version: 13" when the
// status is 426 (RFC 6455 §4.2.2: "a |Sec-WebSocket-Version| header field
// indicating the version(s) the server is capable of understanding"), and
// "Allow: GET" when the status is 405 and Header has no Allow (RFC 7231
// §6.5.5: "The origin server MUST generate an Allow header field in a 405
// response"). Header fields with invalid names or values (CR, LF or other
// control characters) are dropped, as are Content-Type, Content-Length and
// Transfer-Encoding, which Reject owns.
func Reject(w http.ResponseWriter, err error) {
	status, reason, extra := rejection(err)
	h := w.Header()
	for k, vs := range extra {
		if !validFieldName(k) {
			continue
		}
		ck := textproto.CanonicalMIMEHeaderKey(k)
		switch ck {
		case "Content-Type", "Content-Length", "Transfer-Encoding":
			continue
		}
		h.Del(ck)
		for _, v := range vs {
			if validFieldValue(v) {
				h.Add(ck, v)
			}
		}
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	switch status {
	case http.StatusUpgradeRequired:
		h.Set("Sec-WebSocket-Version", Version)
	case http.StatusMethodNotAllowed:
		if h.Get("Allow") == "" {
			h.Set("Allow", http.MethodGet)
		}
	}
	w.WriteHeader(status)
	io.WriteString(w, oneline.Of(reason)+"\n")
}

// rejection decides the status, reason and extra headers Reject sends for
// err.
func rejection(err error) (status int, reason string, extra http.Header) {
	var re *RejectError
	var me *malformedError
	switch {
	case errors.As(err, &re) && re != nil:
		status = re.Status
		if status < 400 || status > 599 {
			status = http.StatusBadRequest
		}
		reason = re.Reason
		if reason == "" {
			reason = http.StatusText(status)
		}
		return status, reason, re.Header
	case errors.Is(err, path.ErrBadPattern):
		return http.StatusForbidden, "origin policy could not be evaluated", nil
	case errors.As(err, &me):
		return http.StatusBadRequest, me.reason(), nil
	case errors.Is(err, ErrMalformed):
		return http.StatusBadRequest, strings.TrimPrefix(err.Error(), "handshake: "), nil
	default:
		return http.StatusBadRequest, "bad WebSocket handshake request", nil
	}
}
