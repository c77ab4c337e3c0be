package httpstream

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pushwire/pushwire/internal/goaway"
	"github.com/pushwire/pushwire/sseproto"
	"github.com/pushwire/pushwire/wsproto"
)

// How a Client reads each transport: a WebSocket connection, an event
// stream, a run of long polls.

// websocket reads one WebSocket connection until it ends.
func (s *session) websocket(ctx context.Context) error {
	u := s.c.endpoint(transportWebSocket)
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	var o wsproto.DialOptions
	if s.c.opts.WebSocket != nil {
		o = *s.c.opts.WebSocket
	}
	h := http.Header{}
	s.c.setHeaders(h)
	for k, vs := range o.Header {
		h[k] = append(h[k], vs...)
	}
	o.Header = h
	conn, resp, err := wsproto.Dial(ctx, u.String(), &o)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			body, _ := io.ReadAll(resp.Body)
			// A refused WebSocket is a reason to fall back to the next
			// transport (a proxy may not pass WebSockets), not to stop,
			// unless it is the only one.
			return &statusError{transportWebSocket, resp.StatusCode, strings.TrimSpace(string(body)), len(s.c.opts.Transports) == 1}
		}
		return err
	}
	defer conn.CloseNow()
	// A context that ends closes the connection properly (1001), which
	// ends the reads below.
	defer goaway.OnDone(ctx, conn)()
	var buf []byte
	for {
		_, msg, err := conn.Read(context.Background(), buf)
		if err != nil {
			return err
		}
		buf = msg
		var r record
		if err := json.Unmarshal(msg, &r); err != nil {
			return fmt.Errorf("httpstream: websocket record %.40q: %w", msg, err)
		}
		if err := s.handle(&r); err != nil {
			return err
		}
	}
}

// get makes a GET request for transport and checks its status.
func (s *session) get(ctx context.Context, transport string, u *url.URL, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	s.c.setHeaders(req.Header)
	req.Header.Set("Accept", accept)
	req.Header.Set("Cache-Control", "no-store")
	resp, err := s.c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		resp.Body.Close()
		return nil, &statusError{transport, resp.StatusCode, strings.TrimSpace(string(body)), true}
	}
	return resp, nil
}

// sse reads one event stream until it ends.
func (s *session) sse(ctx context.Context) error {
	resp, err := s.get(ctx, transportSSE, s.c.endpoint(transportSSE), "text/event-stream")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return fmt.Errorf("httpstream: sse: Content-Type %q, want text/event-stream", ct)
	}
	d := sseproto.NewDecoder(resp.Body, nil)
	for {
		ev, err := d.Next()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // a stream that ends is a connection lost
			}
			return err
		}
		switch ev.Type {
		case "pushwire.cursor":
			s.setCursor(ev.Data)
			s.open()
		case "pushwire.gap":
			var g gapRecord
			if err := json.Unmarshal([]byte(ev.Data), &g); err != nil {
				return fmt.Errorf("httpstream: sse gap %.40q: %w", ev.Data, err)
			}
			s.gap(g, &ev.ID)
		case "pushwire.reset":
			var r resetRecord
			if err := json.Unmarshal([]byte(ev.Data), &r); err != nil {
				return fmt.Errorf("httpstream: sse reset %.40q: %w", ev.Data, err)
			}
			s.reset(r, &ev.ID)
		default:
			// An entry: its id is the cursor after it.
			seq, ok := cursorSeq(ev.ID)
			if !ok {
				return fmt.Errorf("httpstream: sse event with id %q, want a cursor", ev.ID)
			}
			typ := ev.Type
			if typ == "message" {
				typ = ""
			}
			if err := s.entry(seq, typ, ev.Data, ev.ID); err != nil {
				return err
			}
		}
	}
}

// pollAnswer is the body of a long-poll response.
type pollAnswer struct {
	Cursor  string       `json:"cursor"`
	Entries []record     `json:"entries"`
	Gap     *gapRecord   `json:"gap"`
	Reset   *resetRecord `json:"reset"`
}

// poll polls until a poll fails.
func (s *session) poll(ctx context.Context) error {
	timeout := strconv.FormatInt(int64(s.c.opts.PollTimeout/time.Second), 10)
	for {
		resp, err := s.get(ctx, transportPoll, s.c.endpoint(transportPoll, "timeout", timeout), "application/json")
		if err != nil {
			return err
		}
		var a pollAnswer
		err = json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&a)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("httpstream: poll answer: %w", err)
		}
		s.open()
		switch {
		case a.Reset != nil:
			s.reset(*a.Reset, &a.Cursor)
			continue
		case a.Gap != nil:
			// The entries of the batch come after the gap.
			s.gap(*a.Gap, nil)
		}
		for i := range a.Entries {
			if err := s.handle(&a.Entries[i]); err != nil {
				return err
			}
		}
		s.setCursor(a.Cursor)
	}
}
