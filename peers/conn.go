package peers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// MaxMessage is the read limit of every test connection, above the largest
// interop message (16 MiB).
const MaxMessage = 64 << 20

// ioTimeout bounds single operations (a close handshake, a pong) in adapters.
const ioTimeout = 10 * time.Second

// Binary and Text are the message types of Message.Type, as opcodes.
const (
	Text   = 1
	Binary = 2
)

// Message is a data message received by a Conn.
type Message struct {
	Type int
	Data []byte
}

// CloseError is a close frame received from the peer, normalized across
// libraries. Code 1005 stands for a close frame without a status code.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string { return fmt.Sprintf("closed by peer: %d %q", e.Code, e.Reason) }

// Options configures a test connection on either side.
type Options struct {
	Subprotocols []string // offered (client) or supported (server), preferred first
	Compress     bool     // negotiate permessage-deflate
	// ClientWindowBits: a server asks clients to compress within 2^bits
	// bytes (client_max_window_bits, RFC 7692 §7.1.2.2); pushwire only.
	ClientWindowBits int
}

// Conn is one side of a test connection. A background goroutine reads all
// the time, so control frames are answered while the test does other things.
type Conn interface {
	// Subprotocol is the subprotocol the handshake selected.
	Subprotocol() string
	// Extensions is the negotiated Sec-WebSocket-Extensions, when known.
	Extensions() string
	// Write sends p as one message with the library's plain message write.
	Write(typ int, p []byte) error
	// WriteFragmented sends p through the library's streaming writer, which
	// splits it into several frames.
	WriteFragmented(typ int, p []byte) error
	// Next returns the next data message, or the error that ended the
	// reader (a *CloseError for a close frame).
	Next(ctx context.Context) (Message, error)
	// Ping sends a ping with payload and waits for its pong; libraries that
	// choose the payload themselves ignore it.
	Ping(ctx context.Context, payload []byte) error
	// Close starts the closing handshake and waits (bounded) for it to end.
	Close(code int, reason string) error
	// CloseNow drops the TCP connection.
	CloseNow()
}

// Impl is one WebSocket implementation.
type Impl struct {
	Name string
	// Compression reports whether the library implements permessage-deflate.
	Compression bool
	// Server returns a handler that upgrades requests and runs serve on each
	// connection; the handler returns when serve does.
	Server func(opts Options, serve func(Conn)) http.Handler
	// Dial opens a client connection.
	Dial func(ctx context.Context, url string, opts Options) (Conn, error)
	// Echo returns the library's idiomatic echo server, for benchmarks.
	Echo func(compress bool) http.Handler
	// Idle returns a server that upgrades and then only waits for a message,
	// in the library's lowest-memory idiomatic way, for benchmarks.
	Idle func() http.Handler
	// ReadClient dials url and reads n messages of size bytes with the
	// library's client, for benchmarks; it returns the bytes read.
	ReadClient func(ctx context.Context, url string, n int) (int64, error)
	// Broadcast returns a handler whose connections join a group, and a
	// function that sends one message to every member of the group.
	Broadcast func() (http.Handler, func(p []byte) error, func() int)
}

// Impls is every Go implementation, pushwire first.
func Impls() []*Impl {
	return []*Impl{Pushwire(), Gorilla(), Coder(), Gobwas(), GWS()}
}

// event is what a background reader delivers.
type event struct {
	msg Message
	err error
}

// pump is the shared part of every adapter: channels filled by a
// background reader.
type pump struct {
	events chan event
	pongs  chan []byte
	done   chan struct{} // closed when the reader has ended
}

func newPump() *pump {
	return &pump{events: make(chan event, 64), pongs: make(chan []byte, 16), done: make(chan struct{})}
}

func (p *pump) deliver(typ int, data []byte) {
	p.events <- event{msg: Message{Type: typ, Data: bytes.Clone(data)}}
}

func (p *pump) end(err error) {
	p.events <- event{err: err}
	close(p.done)
}

func (p *pump) pong(b []byte) {
	select {
	case p.pongs <- bytes.Clone(b):
	default:
	}
}

// Next implements Conn.
func (p *pump) Next(ctx context.Context) (Message, error) {
	select {
	case ev, ok := <-p.events:
		if !ok {
			return Message{}, errors.New("peers: reader ended")
		}
		if ev.err != nil {
			// Keep reporting the final error.
			p.events <- ev
		}
		return ev.msg, ev.err
	case <-ctx.Done():
		return Message{}, ctx.Err()
	}
}

// waitPong waits for a pong with payload.
func (p *pump) waitPong(ctx context.Context, payload []byte) error {
	for {
		select {
		case b := <-p.pongs:
			if bytes.Equal(b, payload) {
				return nil
			}
		case <-p.done:
			return errors.New("peers: connection ended before the pong")
		case <-ctx.Done():
			return fmt.Errorf("peers: no pong: %w", ctx.Err())
		}
	}
}

// waitDone waits, bounded, for the reader to end after a close.
func (p *pump) waitDone() error {
	select {
	case <-p.done:
		return nil
	case <-time.After(ioTimeout):
		return errors.New("peers: closing handshake timed out")
	}
}

// chunks splits p into pieces of n bytes.
func chunks(p []byte, n int) [][]byte {
	var out [][]byte
	for len(p) > n {
		out = append(out, p[:n])
		p = p[n:]
	}
	return append(out, p)
}

// FragmentSize is the size of the pieces handed to streaming writers.
const FragmentSize = 16 << 10
