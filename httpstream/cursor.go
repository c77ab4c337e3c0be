package httpstream

import (
	"net/http"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/sseproto"
)

// The cursor on the wire: what a client sends and what every record
// carries. hub.ParseCursor and hub.Cursor.AppendText define the text
// ("EPOCH:SEQ", a bare SEQ from older clients, "" for now, "oldest"); this
// file is the one place httpstream reads and writes it.

// requestCursor returns the cursor of a request: the Last-Event-ID header
// if there is one (an EventSource reconnecting), else the cursor query
// parameter. A malformed cursor is an error wrapping hub.ErrInvalidCursor.
func requestCursor(r *http.Request) (hub.Cursor, error) {
	// A reconnecting EventSource sends the last id it saw in Last-Event-ID
	// and the query of its first request again: the header is newer.
	text := sseproto.LastEventID(r)
	if text == "" {
		text = queryValue(r, "cursor")
	}
	return hub.ParseCursor(text)
}

// appendCursor appends the wire form of c without allocating. The text
// needs no escaping in JSON, HTML, SSE fields or URLs: epochs and numbers
// are ASCII letters, digits, '-', '_' and ':'.
func appendCursor(dst []byte, c hub.Cursor) []byte {
	dst, _ = c.AppendText(dst)
	return dst
}
