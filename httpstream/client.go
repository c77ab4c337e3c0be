package httpstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/internal/backoff"
	"github.com/pushwire/pushwire/sseproto"
	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// ClientOptions configures a Client. The zero value, and nil, give the
// defaults documented on each field. NewClient copies the struct.
type ClientOptions struct {
	// Transports lists the transports to use, in order of preference:
	// "websocket", "sse" and "poll" (long polling). The Client moves to the
	// next one when a transport fails to open twice in a row. Default:
	// all three, in that order.
	Transports []string

	// Cursor is where to start: "" for the entries published from now on,
	// "oldest" for all that the log holds, or a cursor that Client.Cursor
	// returned before, to resume after it. Default: "".
	Cursor string

	// HTTPClient makes the SSE and long-poll requests and Send's POSTs.
	// Its Timeout must be zero, or it cuts every stream. Default:
	// http.DefaultClient.
	HTTPClient *http.Client

	// Header holds headers for every request and WebSocket handshake, such
	// as Authorization. Default: none.
	Header http.Header

	// WebSocket configures the WebSocket dial (TLS, proxy, heartbeats,
	// compression); its Header is added to Header. Default: nil.
	WebSocket *wsproto.DialOptions

	// MinDelay and MaxDelay bound the wait before a reconnection: it
	// starts at MinDelay and doubles after each attempt that failed, up to
	// MaxDelay, each wait drawn from [w/2, w). Defaults (0): 250 ms and
	// 10 s, as pushwire.js.
	MinDelay, MaxDelay time.Duration

	// PollTimeout is how long the server may hold a long poll, sent as its
	// timeout parameter. Default (0): 25 s.
	PollTimeout time.Duration

	// OnGap, when set, is called when the log no longer held entries after
	// the client's cursor: gap.Lost entries are gone, and the next entry
	// is gap.Oldest. Default: nil.
	OnGap func(gap hub.GapError)

	// OnReset, when set, is called when the client's cursor is not in the
	// log's current history (the log of a restarted process, a wiped
	// shared log): reset.From is that cursor, and the client goes on from
	// reset.Cursor(), the start of the current history. Entries of the old
	// history that the client did not receive are lost with it. Default:
	// nil.
	OnReset func(reset hub.ResetError)

	// OnConnect, when set, is called each time a transport opens: the
	// first time and after every reconnection. Default: nil.
	OnConnect func(transport string)

	// OnDisconnect, when set, is called when a connection ends or an
	// attempt fails, with the reason and the wait before the next attempt
	// (on transport, which may differ from the one that failed). Default:
	// nil.
	OnDisconnect func(err error, transport string, wait time.Duration)
}

// A Client reads a log that a Handler serves, as /pushwire.js does in a
// browser: over WebSocket, Server-Sent Events or long polling, falling back
// from one to the next when a transport fails to open twice in a row,
// reconnecting with exponential backoff and jitter, and resuming from the
// cursor of the last record it received. Every entry arrives exactly once
// and in order, whatever the transports and reconnections, as long as the
// log still holds it; otherwise OnGap says what was lost, and OnReset when
// the log itself started a new history.
//
// Run delivers the entries; Cursor, Transport and Send may be called from
// any goroutine at any time.
type Client struct {
	base   *url.URL
	opts   ClientOptions
	hc     *http.Client
	jitter func() float64 // for tests

	mu        sync.Mutex
	cursor    string
	transport string
}

// NewClient returns a Client of the Handler at rawURL, an http:// or
// https:// URL (ws:// and wss:// are taken as the same). It does not
// connect; Run does. opts may be nil.
func NewClient(rawURL string, opts *ClientOptions) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("httpstream: %w", err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "http"
	case "https", "wss":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("httpstream: %s: scheme must be http or https", rawURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("httpstream: %s: no host", rawURL)
	}
	u.Fragment = ""
	c := &Client{base: u}
	if opts != nil {
		c.opts = *opts
	}
	o := &c.opts
	if len(o.Transports) == 0 {
		o.Transports = []string{transportWebSocket, transportSSE, transportPoll}
	}
	for _, t := range o.Transports {
		switch t {
		case transportWebSocket, transportSSE, transportPoll:
		default:
			return nil, fmt.Errorf("httpstream: unknown transport %q (websocket, sse or poll)", t)
		}
	}
	if _, err := hub.ParseCursor(o.Cursor); err != nil {
		return nil, fmt.Errorf("httpstream: cursor %q: %w", o.Cursor, err)
	}
	if o.MinDelay <= 0 {
		o.MinDelay = 250 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 10 * time.Second
	}
	o.MaxDelay = max(o.MaxDelay, o.MinDelay)
	if o.PollTimeout <= 0 {
		o.PollTimeout = DefaultPollTimeout
	}
	c.hc = o.HTTPClient
	if c.hc == nil {
		c.hc = http.DefaultClient
	}
	c.cursor = o.Cursor
	c.transport = o.Transports[0]
	return c, nil
}

// Cursor returns the cursor after the last record received: pass it as
// ClientOptions.Cursor to resume later, in this process or another.
func (c *Client) Cursor() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cursor
}

// Transport returns the transport in use, or about to be tried.
func (c *Client) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transport
}

// Send publishes data through the Handler's OnPublish, with a POST request,
// and returns its refusal, if any, as an error holding the server's reason.
func (c *Client) Send(ctx context.Context, data []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String(), bytes.NewReader(data))
	if err != nil {
		return err
	}
	c.setHeaders(req.Header)
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("httpstream: send: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("httpstream: send refused: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// errStop ends Run with the error fn returned.
type errStop struct{ err error }

func (e errStop) Error() string { return e.err.Error() }

// Run connects and calls fn with each entry, in order, from the calling
// goroutine, until ctx is done (it returns ctx.Err()) or fn returns an
// error (it returns that error). Between connections it waits and
// reconnects, resuming from the cursor; OnGap and OnReset are called from
// the same goroutine, in order with the entries. A refusal that retrying
// cannot change (a 4xx status other than 408 and 429, such as a malformed
// cursor or a missing authorization) ends Run with an error naming the
// status. Entries have Seq, Type and Data; their Time is zero.
//
// Run may be called again after it returned, and resumes from Cursor.
func (c *Client) Run(ctx context.Context, fn func(hub.Entry) error) error {
	b := backoff.Backoff{Min: c.opts.MinDelay, Max: c.opts.MaxDelay, Jitter: c.jitter}
	index, failures := 0, 0
	for {
		transport := c.opts.Transports[index]
		c.mu.Lock()
		c.transport = transport
		c.mu.Unlock()
		s := &session{c: c, fn: fn}
		var err error
		switch transport {
		case transportWebSocket:
			err = s.websocket(ctx)
		case transportSSE:
			err = s.sse(ctx)
		default:
			err = s.poll(ctx)
		}
		var stop errStop
		switch {
		case errors.As(err, &stop):
			return stop.err
		case ctx.Err() != nil:
			return ctx.Err()
		case permanent(err):
			return err
		}
		if s.opened {
			b.Reset()
			failures = 0
		} else if failures++; failures >= 2 && index < len(c.opts.Transports)-1 {
			index++
			failures = 0
		}
		wait := b.Next()
		if c.opts.OnDisconnect != nil {
			c.opts.OnDisconnect(err, c.opts.Transports[index], wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// statusError is a refusal of a request.
type statusError struct {
	transport string
	status    int
	reason    string
	final     bool // a 4xx ends Run
}

func (e *statusError) Error() string {
	return fmt.Sprintf("httpstream: %s refused: %d %s: %s", e.transport, e.status, http.StatusText(e.status), e.reason)
}

// permanent reports whether err is a refusal that retrying cannot change.
func permanent(err error) bool {
	var se *statusError
	if !errors.As(err, &se) || !se.final {
		return false
	}
	switch se.status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return se.status >= 400 && se.status < 500
}

// setHeaders adds the options' headers to h.
func (c *Client) setHeaders(h http.Header) {
	for k, vs := range c.opts.Header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
}

// endpoint returns the URL of a request on transport with the current
// cursor and the extra query parameters.
func (c *Client) endpoint(transport string, extra ...string) *url.URL {
	u := *c.base
	q := u.Query()
	q.Set("transport", transport)
	q.Set("cursor", c.Cursor())
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	u.RawQuery = q.Encode()
	return &u
}

// session is one connection of Run on one transport.
type session struct {
	c      *Client
	fn     func(hub.Entry) error
	opened bool
}

// open marks the connection open, once.
func (s *session) open() {
	if !s.opened {
		s.opened = true
		if f := s.c.opts.OnConnect; f != nil {
			f(s.c.Transport())
		}
	}
}

// record is one JSON record of the WebSocket and long-poll transports (see
// the package documentation).
type record struct {
	Seq    *uint64      `json:"seq"`
	Type   string       `json:"type"`
	Data   string       `json:"data"`
	Cursor *string      `json:"cursor"`
	Gap    *gapRecord   `json:"gap"`
	Reset  *resetRecord `json:"reset"`
	Error  *string      `json:"error"`
}

type gapRecord struct {
	After  uint64 `json:"after"`
	Oldest uint64 `json:"oldest"`
	Lost   uint64 `json:"lost"`
}

// resetRecord is the reset record of logs with epochs:
// {"reset":{"epoch":"p2m7","after":0},"cursor":"p2m7:0"}.
type resetRecord struct {
	Epoch string `json:"epoch"`
	After uint64 `json:"after"`
}

// handle acts on one record. It returns an errStop if fn failed.
func (s *session) handle(r *record) error {
	switch {
	case r.Seq != nil:
		return s.entry(*r.Seq, r.Type, r.Data, "")
	case r.Gap != nil:
		s.gap(*r.Gap, r.Cursor)
	case r.Reset != nil:
		s.reset(*r.Reset, r.Cursor)
	case r.Error != nil:
		// A WebSocket message the server refused; Send does not use the
		// WebSocket, so nothing of ours.
	case r.Cursor != nil:
		s.setCursor(*r.Cursor)
		s.open()
	}
	return nil
}

// entry delivers an entry after checking it against the cursor: an entry at
// or before the cursor's sequence number was delivered already (a transport
// may send it again after a reconnection) and is dropped. cursor, when not
// "", is the cursor after the entry as the transport gave it (the SSE id).
func (s *session) entry(seq uint64, typ, data, cursor string) error {
	s.open()
	s.c.mu.Lock()
	last, ok := cursorSeq(s.c.cursor)
	if ok && seq <= last {
		s.c.mu.Unlock()
		return nil
	}
	if cursor == "" {
		cursor = withSeq(s.c.cursor, seq)
	}
	s.c.cursor = cursor
	s.c.mu.Unlock()
	if err := s.fn(hub.Entry{Seq: hub.Seq(seq), Type: typ, Data: []byte(data)}); err != nil {
		return errStop{err}
	}
	return nil
}

func (s *session) gap(g gapRecord, cursor *string) {
	s.open()
	if cursor != nil {
		s.setCursor(*cursor)
	}
	if f := s.c.opts.OnGap; f != nil {
		f(hub.GapError{After: hub.Seq(g.After), Oldest: hub.Seq(g.Oldest), Lost: g.Lost})
	}
}

func (s *session) reset(r resetRecord, cursor *string) {
	s.open()
	from, _ := hub.ParseCursor(s.c.Cursor())
	next := hub.AfterIn(hub.Epoch(r.Epoch), hub.Seq(r.After)).String()
	if cursor != nil {
		next = *cursor
	}
	s.setCursor(next)
	if f := s.c.opts.OnReset; f != nil {
		f(hub.ResetError{From: from, Epoch: hub.Epoch(r.Epoch), After: hub.Seq(r.After)})
	}
}

func (s *session) setCursor(cur string) {
	s.c.mu.Lock()
	s.c.cursor = cur
	s.c.mu.Unlock()
}

// cursorSeqPart returns the sequence number part of a wire cursor: what
// follows the epoch and its colon, when there is one.
func cursorSeqPart(cur string) string {
	if i := strings.LastIndexByte(cur, ':'); i >= 0 {
		return cur[i+1:]
	}
	return cur
}

// cursorSeq returns the sequence number of a concrete cursor.
func cursorSeq(cur string) (uint64, bool) {
	n, err := strconv.ParseUint(cursorSeqPart(cur), 10, 64)
	return n, err == nil
}

// withSeq returns cur with its sequence number replaced by seq, keeping
// its epoch.
func withSeq(cur string, seq uint64) string {
	s := strconv.FormatUint(seq, 10)
	if i := strings.LastIndexByte(cur, ':'); i >= 0 {
		return cur[:i+1] + s
	}
	return s
}

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
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(closed)
		conn.Close(frame.CloseGoingAway, "")
	})
	defer func() {
		if !stop() {
			<-closed
		}
	}()
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
