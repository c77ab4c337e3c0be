package fuzz

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pushwire/pushwire/internal/wsecho"
	"github.com/pushwire/pushwire/sseproto"
	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// wsPair is a pushwire client connected to a pushwire echo server; it is
// dialed again after a case that fails the connection on purpose.
type wsPair struct {
	srv    *httptest.Server
	client *wsproto.Conn
}

func newWSPair(tb testing.TB) *wsPair {
	p := &wsPair{}
	p.srv = httptest.NewServer(wsproto.Handler(&wsproto.AcceptOptions{ReadLimit: 1 << 20}, func(c *wsproto.Conn, _ *http.Request) {
		wsecho.Loop(context.Background(), c)
	}))
	tb.Cleanup(func() {
		if p.client != nil {
			p.client.CloseNow()
		}
		p.srv.Close()
	})
	return p
}

func (p *wsPair) conn(tb testing.TB) *wsproto.Conn {
	if p.client != nil && p.client.State() == wsproto.StateOpen {
		return p.client
	}
	if p.client != nil {
		p.client.CloseNow()
	}
	c, _, err := wsproto.Dial(context.Background(), "ws"+strings.TrimPrefix(p.srv.URL, "http"), &wsproto.DialOptions{ReadLimit: 1 << 20})
	if err != nil {
		tb.Fatalf("Dial: %v", err)
	}
	p.client = c
	return c
}

// FuzzWebSocketRoundTrip sends the input as a message, cut into frames at
// the fuzzer's split points, through a pushwire client to a pushwire echo
// server over loopback TCP, and checks what comes back. Text that is not
// UTF-8 must instead fail the connection with close code 1007 (RFC 6455
// §8.1).
func FuzzWebSocketRoundTrip(f *testing.F) {
	f.Add([]byte("hello"), true, []byte{})
	f.Add([]byte("€uro split"), true, []byte{1, 1})
	f.Add([]byte{0xff, 0xfe}, false, []byte{1})
	f.Add([]byte{'a', 0xed, 0xa0, 0x80}, true, []byte{2})
	f.Add(bytes.Repeat([]byte("x"), 70000), false, []byte{200, 3})
	p := newWSPair(f)
	f.Fuzz(func(t *testing.T, msg []byte, isText bool, cuts []byte) {
		c := p.conn(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		typ := wsproto.MessageBinary
		if isText {
			typ = wsproto.MessageText
		}
		invalid := isText && !utf8.Valid(msg)
		w, err := c.Writer(ctx, typ)
		if err != nil {
			t.Fatalf("Writer: %v", err)
		}
		// The server fails the connection with 1007 as soon as it sees an
		// invalid byte, possibly while the rest of the message is still
		// being written: then writes may fail.
		rest := msg
		for _, k := range cuts {
			n := min(int(k), len(rest))
			if _, err := w.Write(rest[:n]); err != nil && !invalid {
				t.Fatalf("Write: %v", err)
			}
			rest = rest[n:]
		}
		if _, err := w.Write(rest); err != nil && !invalid {
			t.Fatalf("Write: %v", err)
		}
		if err := w.Close(); err != nil && !invalid {
			t.Fatalf("Close: %v", err)
		}
		gotTyp, got, err := c.Read(ctx, nil)
		if invalid {
			if frame.CloseStatus(err) != frame.CloseInvalidPayload {
				t.Fatalf("invalid UTF-8 text: Read = %v %q, %v; want close 1007", gotTyp, got, err)
			}
			c.CloseNow()
			return
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if gotTyp != typ || !bytes.Equal(got, msg) {
			t.Fatalf("echo = %v %d bytes, sent %v %d bytes", gotTyp, len(got), typ, len(msg))
		}
	})
}

// sseCase turns fuzz input into events: the input is cut at 0x00 bytes
// into (type, id, data) triples. Events that the encoder must refuse
// (line breaks in type or id, NUL in id) are kept, to check that they are
// refused and never reach the client.
func sseCase(in []byte) []sseproto.Event {
	parts := strings.Split(strings.ToValidUTF8(string(in), ""), "\x00")
	var evs []sseproto.Event
	for i := 0; i+2 < len(parts) && len(evs) < 50; i += 3 {
		evs = append(evs, sseproto.Event{Type: parts[i], ID: parts[i+1], Data: "d" + parts[i+2]})
	}
	return evs
}

// FuzzSSERoundTrip sends events through sseproto's server Stream over
// HTTP to sseproto's Client and checks that each event the Stream accepted
// is dispatched once, in order, with the type, data and last event ID the
// HTML standard's interpretation gives it.
func FuzzSSERoundTrip(f *testing.F) {
	f.Add([]byte("\x001\x00hello"))
	f.Add([]byte("tick\x00\x00line one\nline two\r\nthree\rfour"))
	f.Add([]byte("bad\ntype\x00x\x00data\x00\x00id\x00 leading space"))
	f.Add([]byte("\x00a\x00b\x00\x00\x00c\x00\x00id\nbreak\x00d"))
	f.Fuzz(func(t *testing.T, in []byte) {
		evs := sseCase(in)
		type want struct{ typ, data, id string }
		var wants []want
		var mu sync.Mutex
		requests := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			requests++
			n := requests
			mu.Unlock()
			if n > 1 {
				sseproto.NoContent(w) // one stream, then stop reconnecting
				return
			}
			s, err := sseproto.NewStream(w, r, nil)
			if err != nil {
				t.Errorf("NewStream: %v", err)
				return
			}
			lastID := ""
			for _, ev := range evs {
				err := s.Send(ev)
				refused := strings.ContainsAny(ev.Type, "\r\n") || strings.ContainsAny(ev.ID, "\r\n\x00")
				if refused != (err != nil) {
					t.Errorf("Send(%+v) = %v, want refused=%v", ev, err, refused)
				}
				if err != nil {
					continue
				}
				if ev.ID != "" {
					lastID = ev.ID
				}
				typ := ev.Type
				if typ == "" {
					typ = "message"
				}
				data := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(ev.Data)
				mu.Lock()
				wants = append(wants, want{typ, data, lastID})
				mu.Unlock()
			}
		}))
		defer srv.Close()
		client, err := sseproto.NewClient(srv.URL, &sseproto.ClientOptions{ReconnectTime: time.Millisecond, MaxBackoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var got []want
		err = client.Run(ctx, func(ev sseproto.Event) error {
			got = append(got, want{ev.Type, ev.Data, ev.ID})
			return nil
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(got) != len(wants) {
			t.Fatalf("client dispatched %d events, server sent %d:\n got %q\nwant %q", len(got), len(wants), got, wants)
		}
		for i := range got {
			if got[i] != wants[i] {
				t.Fatalf("event %d = %q, want %q", i, got[i], wants[i])
			}
		}
	})
}
