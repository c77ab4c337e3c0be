// Package httpstream serves a hub log over every HTTP push transport: long
// polling (and short polling), chunked streaming of newline-delimited JSON,
// the "forever iframe" of Comet, Server-Sent Events and WebSocket, from one
// endpoint that resumes from the client's cursor whichever transport it
// arrives on. It also serves a small browser client, /pushwire.js, that uses
// them with fallback and reconnection.
//
//	tp := hub.NewTopic(nil)
//	h := httpstream.NewHandler(tp, nil)
//	mux.Handle("/chat", h)
//	mux.Handle("GET /pushwire.js", h)
//	defer h.Close() // before http.Server.Shutdown: ends the streams
//
// Client is the same client for Go programs: it reads the log over
// WebSocket, SSE or long polling with the same fallback, reconnection and
// resumption from its cursor, and reports gaps (and resets) as pushwire.js
// does.
//
// # Choosing the transport
//
// A GET request names its transport in the transport query parameter:
// websocket, sse, poll, stream or iframe. Without one, a WebSocket handshake
// gets WebSocket, an Accept header with text/event-stream gets SSE, one with
// application/x-ndjson gets streaming, and anything else a long poll. A POST
// hands its body to Options.OnPublish.
//
// The client's cursor (see hub.ParseCursor) is the Last-Event-ID header if
// there is one (an EventSource reconnecting), else the cursor query
// parameter: "EPOCH:N" for the entries after N in the log's history named
// EPOCH, as every record carries it; a bare N from clients that keep only
// a number; "" for from now; "oldest" for the oldest entry held. A
// malformed cursor is answered with 409 Conflict, the only status that
// refuses a cursor. A well-formed one is always
// served: a cursor from another history (another epoch — the log of a
// restarted process, a wiped stream — or ahead of the log) gets one reset
// record saying where the client resumes, then the entries, never an
// error it would retry forever. "From now" is the moment the request
// arrives, before the connection is reported open (before the 101 of a
// WebSocket, the headers of a stream, the wait of a poll): an entry
// published once the client saw the connection open always reaches it.
//
// # Wire formats
//
// Every transport carries the same records (the long poll as a batch):
//
//	{"cursor":"k3x9:17"}                             the stream starts after 17, epoch k3x9
//	{"seq":18,"type":"chat","data":"hello"}          an entry; type omitted when ""
//	{"gap":{"after":3,"oldest":10,"lost":6},"cursor":"k3x9:9"}   entries lost to the bound of the log
//	{"reset":{"epoch":"p2m7","after":0},"cursor":"p2m7:0"}   the log is a new history: go on after 0
//	{"error":"..."}                                  a WebSocket message OnPublish refused
//
// An entry record carries its sequence number only; its epoch is that of
// the last cursor, gap or reset record, and the client's cursor after it
// is EPOCH:SEQ. A stream opens with a cursor record, or with a reset record
// instead when the client's cursor is from another history.
//
//   - poll: one JSON object {"cursor":"k3x9:19","entries":[...]} with at
//     most MaxBatch entries, "gap" when the cursor was too old, "reset"
//     (answered at once, with no entries) when it was from another
//     history. The request is
//     held until there is something after the cursor or the timeout (the
//     timeout query parameter in seconds, at most PollTimeout; 0 is short
//     polling) passes; then the answer has no entries and the same cursor.
//   - stream: application/x-ndjson, one record per line; lines of
//     whitespace (the padding and keep-alives) carry nothing.
//   - iframe: an HTML document with one <script>parent.CALLBACK(record)</script>
//     per record, CALLBACK being the callback query parameter (an identifier
//     path, default pushwireFrame).
//   - sse: text/event-stream, each entry an event with id the cursor
//     after it (EPOCH:SEQ: an EventSource sends back only its last id),
//     event the entry's Type and data the payload; a "pushwire.cursor"
//     event opens the stream, a "pushwire.gap" event (data the gap as
//     JSON, id the cursor that skips it) reports a gap, and a
//     "pushwire.reset" event (data {"epoch":"p2m7","after":0}, id the
//     cursor to resume from) a new history.
//   - websocket: one record per text message; messages from the client go to
//     OnPublish.
//
// A client that keeps the last seq (or cursor) it received and sends it when
// it reconnects receives every entry exactly once and in order, on any
// transport and across transports, as long as the log still holds what it
// missed; otherwise it gets a gap record, never a silent skip. pushwire.js
// does so, and emits "gap" and "reset" events for the application.
//
// Entries are text on every transport: Type and Data are sent as UTF-8 with
// invalid bytes replaced by U+FFFD. The reserved SSE event types begin with
// "pushwire."; an entry Type holding a line break is sent without its type.
//
// # Concurrency
//
// A Handler serves any number of requests at once; its methods are safe for
// concurrent use. A stream holds no goroutine while it waits: the log's
// notification (hub.Notifier), its keep-alive timer, the client going away
// and Close each start one, which writes what is ready and ends. Over
// HTTP/1.x a stream and a waiting long poll take the connection from
// net/http (the request's goroutine returns) and end it with the response
// ("Connection: close"); over HTTP/2 the request's goroutine stays. A
// WebSocket's client messages are read by a goroutine that exists only
// while the client sends (on Linux; elsewhere it stays in Read); none
// outlives the stream. OnPublish is called from the request's goroutine,
// or the WebSocket reading goroutine, concurrently for different clients;
// for a WebSocket message its request is the upgrade request, kept for the
// connection's life. Close (or Shutdown) ends every
// stream: WebSocket connections get close code 1001, streamed responses
// end, held polls answer at once; it waits for them to finish and leaves
// the log untouched, so nothing published before the close is lost for a
// client that reconnects to another Handler on the same log.
//
// # Limits
//
// A poll answers at most MaxBatch (256) entries; a stream flushes at most
// MaxBatch entries at a time and holds no entry and no buffer between
// writes (buffers come from a pool for each write). A message from a
// client is at most MaxMessageSize (64 KiB). Each write is bounded by
// WriteTimeout (10 s) by moving the connection's write deadline (with
// http.ResponseController for a response net/http keeps, which also keeps
// an http.Server.WriteTimeout from cutting a live stream).
// Streams write a keep-alive after KeepAlive (15 s) of silence. A
// subscriber that reads slowly costs only its cursor in the log; under the
// topic's Drop policy it is disconnected (WebSocket close 1008), under
// Reread it catches up from the log or gets a gap.
//
// # Security
//
// Records are escaped for the places they go: JSON strings have <, >, &,
// U+2028 and U+2029 escaped, so no payload can end the iframe's <script>
// element, open an HTML comment or end a JavaScript line; SSE data is split
// into data fields at every line break so it cannot inject fields. The
// iframe callback must be an identifier path of at most 64 bytes, and the
// iframe document may be framed by its own origin only. Every response has
// X-Content-Type-Options: nosniff, so no stream can be loaded as a script by
// another site. POST requests are checked with http.CrossOriginProtection
// (CSRF), and WebSocket handshakes with the origin policy of
// Options.WebSocket (same-origin by default). Cursors and timeouts from
// clients are parsed strictly and bounded.
package httpstream
