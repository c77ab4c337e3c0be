// Package sseproto implements Server-Sent Events (text/event-stream) as
// the WHATWG HTML standard defines them in §9.2 "Server-sent events":
// https://html.spec.whatwg.org/multipage/server-sent-events.html.
//
// The pieces:
//
//   - Decoder parses an event stream from any io.Reader exactly as §9.2.5
//     and §9.2.6 say (BOM, CR/LF/CRLF, comments, the event, data, id and
//     retry fields, the last event ID, UTF-8 with U+FFFD replacement), and
//     gives the same events however the reads split the stream.
//   - Encoder writes events and comments and cannot produce a malformed
//     stream; AppendEvent, AppendEventBytes and AppendComment are the same
//     encoding in append form, for callers that batch events into a buffer
//     of their own (httpstream's SSE transport).
//   - Stream is the server side over an http.ResponseWriter: headers,
//     flushing, keep-alive comments, write deadlines, Last-Event-ID, and
//     NoContent to make a browser stop reconnecting.
//   - Client is an EventSource (§9.2.3): it reconnects with the server's
//     retry time, backoff and Last-Event-ID, fails for good on a wrong
//     status or type, and stops on 204.
//
// Where this package chooses among what the standard leaves open: the
// Client's default reconnection time is 3 s; after attempts that delivered
// no event it adds an exponential backoff with jitter, capped at 30 s by
// default; it reconnects to the URL the last redirect led to, as fetching
// the same request again does (whatwg/html#503) and browsers do; and a
// reconnected stream starts with the last event ID string in force, so an
// event without an id field after a reconnection still carries the old ID
// (web-platform-tests eventsource/format-field-id).
//
// # Concurrency
//
// A Decoder or an Encoder belongs to one goroutine. A Stream's Send and
// Comment may be called from any goroutine, also while Run is running;
// writes are serialized. A Client's Run calls its callback from Run's own
// goroutine; State and LastEventID may be called from anywhere. Nothing in
// the package starts a goroutine.
//
// # Limits
//
// A Decoder holds one read buffer (8 KiB, growing only for a longer line)
// and the event being built. DecoderOptions.MaxEventSize, 1 MiB by
// default, bounds both the length of any line and an event's data; past it
// Next returns ErrLineTooLong or ErrEventTooLarge, so a hostile stream
// cannot make it hold more than a few times that limit. Retry values too
// large for a time.Duration saturate. A Stream bounds each write by
// StreamOptions.WriteTimeout (10 s by default).
//
// # Security
//
// Everything read from the network is untrusted: a Decoder never panics on
// any input, replaces invalid UTF-8 with U+FFFD, and returns strings that
// are valid UTF-8. The Encoder refuses event types and ids holding CR or LF
// (and ids holding U+0000), so data from users cannot inject fields or
// events. LastEventID returns the client's header as sent; treat it as
// untrusted input when you look it up. The Client sends the Header of its
// options on every request, also after redirects to other hosts where
// net/http allows that (it drops Authorization and Cookie on a redirect to
// another domain).
package sseproto
