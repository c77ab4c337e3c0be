package cli

import (
	"context"
	"net"
	"net/http"
	"time"
)

// serverTimeouts are the timeouts of the HTTP server of serve and echo.
// None of them applies to what a request turns into once accepted: a
// hijacked WebSocket, an event stream, a NDJSON or iframe stream, a held
// long poll. Those bound every write themselves (httpstream's and sseproto's
// WriteTimeout, the WebSocket close timeout) and end when the client goes.
type serverTimeouts struct {
	// header bounds the reading of a request's header
	// (http.Server.ReadHeaderTimeout).
	header time.Duration
	// read bounds the reading of a whole request, header and body, such
	// as a publish (http.Server.ReadTimeout). It does not cut responses
	// that last: net/http lifts the read deadline once a request has been
	// read, and wsproto.Accept clears it on the connection it takes over.
	read time.Duration
	// idle bounds how long a keep-alive connection may wait for its next
	// request, and so also a request that stops within its first bytes
	// (http.Server.IdleTimeout: net/http waits for the first 4 bytes of
	// the next request under it, and for the rest under header).
	idle time.Duration
}

// defaultTimeouts are what serve and echo use:
//
//   - header, 10 s: a browser sends its whole header in one packet; 10 s
//     allow for a slow mobile link.
//   - read, 10 s: a publish is at most 64 KiB (a chat message 2,000
//     bytes), which even a 64 kbit/s link sends in 8 s.
//   - idle, 30 s: far longer than the gap between a browser's requests on
//     one connection (the next long poll follows its answer at once, a
//     POST follows a keypress), short enough that idle keep-alive sockets
//     go within half a minute instead of holding descriptors forever.
//
// There is no WriteTimeout: the responses bound each of their writes, and
// over HTTP/2 net/http resets a stream whose WriteTimeout passes even while
// it waits to write, such as a poll held for 20 s.
var defaultTimeouts = serverTimeouts{header: 10 * time.Second, read: 10 * time.Second, idle: 30 * time.Second}

// newHTTPServer returns the HTTP server of serve and echo for h, with the
// timeouts t. Request contexts derive from base.
func newHTTPServer(h http.Handler, t serverTimeouts, base context.Context) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.header,
		ReadTimeout:       t.read,
		IdleTimeout:       t.idle,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
}
