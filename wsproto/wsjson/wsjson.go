// Package wsjson reads and writes JSON messages on a wsproto.Conn: each
// message is one JSON value, sent as a text message.
//
//	var in struct{ Text string }
//	if err := wsjson.Read(ctx, c, &in); err != nil { ... }
//	err := wsjson.Write(ctx, c, map[string]string{"echo": in.Text})
//
// # Concurrency
//
// Read and Write follow the rules of the Conn: any number of goroutines may
// write at once, one reads at a time.
//
// # Limits
//
// A message is read whole, up to the Conn's read limit (1 MiB by default),
// into a pooled buffer before it is decoded; buffers of messages over 64 KiB
// are not kept in the pool. Write encodes into a pooled buffer and sends it
// in one frame.
//
// # Security
//
// Decoding follows encoding/json: unknown fields are ignored and the value
// may be any JSON the peer sent, so check what you decode. Write escapes <, >
// and & as encoding/json does, so a message can be embedded in HTML.
package wsjson

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"

	"github.com/pushwire/pushwire/wsproto"
)

// pooled bounds the buffers kept for reuse.
const pooled = 64 << 10

var (
	readBufs  = sync.Pool{New: func() any { return new([]byte) }}
	writeBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

// Read reads the next message from c, text or binary, and decodes it as JSON
// into v with json.Unmarshal. A message that is not valid JSON for v gives
// the decoding error and leaves the connection usable: the message was read
// whole. Errors from reading (the peer's close, a context that ended) are
// the Conn's, as Conn.Read returns them.
func Read(ctx context.Context, c *wsproto.Conn, v any) error {
	bp := readBufs.Get().(*[]byte)
	_, msg, err := c.Read(ctx, (*bp)[:0])
	if err == nil {
		err = json.Unmarshal(msg, v)
	}
	if cap(msg) <= pooled {
		*bp = msg[:0]
		readBufs.Put(bp)
	}
	return err
}

// Write encodes v as JSON with json.Marshal's rules and sends it to c as
// one text message.
func Write(ctx context.Context, c *wsproto.Conn, v any) error {
	b := writeBufs.Get().(*bytes.Buffer)
	defer putWriteBuf(b)
	if err := encode(b, v); err != nil {
		return err
	}
	return c.Write(ctx, wsproto.MessageText, b.Bytes())
}

// Prepare encodes v as JSON and returns it as a prepared text message, for
// Group.Broadcast or Conn.WritePrepared: encoded once, sent to many.
func Prepare(v any) (*wsproto.PreparedMessage, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return wsproto.NewPreparedMessage(wsproto.MessageText, data)
}

// encode writes v to b as json.Marshal would, without the newline that
// json.Encoder adds.
func encode(b *bytes.Buffer, v any) error {
	b.Reset()
	if err := json.NewEncoder(b).Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1)
	return nil
}

func putWriteBuf(b *bytes.Buffer) {
	if b.Cap() <= pooled {
		writeBufs.Put(b)
	}
}
