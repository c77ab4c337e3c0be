package clustertest

import (
	"bufio"
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

	"github.com/pushwire/pushwire/sseproto"
	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// Transports a Client speaks.
var Transports = []string{"websocket", "sse", "poll", "stream"}

// Got is one entry a client received.
type Got struct {
	Seq  uint64
	Data string
	At   time.Time // when it arrived
}

// Client reads a pushwire httpstream endpoint the way pushwire.js does: it
// keeps the cursor of the last record and sends it on every connection, so
// it can move to any node on any transport. It records what arrives as
// is: a duplicate or a skipped entry is kept for the test to see, never
// dropped.
type Client struct {
	Transport string
	Cursor    string // the wire cursor: "", "oldest", "EPOCH:SEQ" or a bare SEQ

	Got    []Got
	Resets []string // the cursors that reset records carried
	Gaps   int
	Conns  int // connections made
	Fails  int // connections that failed or broke

	epoch string
	seq   uint64
	hc    *http.Client
	mu    sync.Mutex // guards Got and Cursor while Read runs, for count and cursor
}

// count returns how many entries arrived; it may run while Read does.
func (c *Client) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.Got)
}

// cursor returns the cursor; it may run while Read does.
func (c *Client) cursor() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Cursor
}

// NewClient returns a client of transport starting at cursor.
func NewClient(transport, cursor string) *Client {
	return &Client{Transport: transport, Cursor: cursor, hc: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
}

// record is one JSON record of the hub protocol.
type record struct {
	Seq    *uint64 `json:"seq"`
	Type   string  `json:"type"`
	Data   string  `json:"data"`
	Cursor *string `json:"cursor"`
	Gap    *struct {
		After, Oldest, Lost uint64
	} `json:"gap"`
	Reset *struct {
		Epoch string `json:"epoch"`
		After uint64 `json:"after"`
	} `json:"reset"`
	Error *string `json:"error"`
}

// handle applies one record.
func (c *Client) handle(r *record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case r.Seq != nil:
		c.Got = append(c.Got, Got{Seq: *r.Seq, Data: r.Data, At: time.Now()})
		c.seq = *r.Seq
		c.Cursor = c.cursorAt(c.seq)
	case r.Reset != nil:
		c.Resets = append(c.Resets, deref(r.Cursor))
		c.setCursorLocked(deref(r.Cursor))
	case r.Gap != nil:
		c.Gaps++
		c.setCursorLocked(deref(r.Cursor))
	case r.Error != nil:
		return fmt.Errorf("error record: %s", *r.Error)
	case r.Cursor != nil:
		c.setCursorLocked(*r.Cursor)
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (c *Client) cursorAt(seq uint64) string {
	if c.epoch == "" {
		return strconv.FormatUint(seq, 10)
	}
	return c.epoch + ":" + strconv.FormatUint(seq, 10)
}

// setCursor takes a cursor the server sent.
func (c *Client) setCursor(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setCursorLocked(s)
}

func (c *Client) setCursorLocked(s string) {
	c.Cursor = s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		c.epoch = s[:i]
		c.seq, _ = strconv.ParseUint(s[i+1:], 10, 64)
	} else if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		c.seq = n
	}
}

// errEnough ends a connection that delivered what was asked.
var errEnough = errors.New("clustertest: enough")

// Read connects to base (the endpoint's URL) once and reads until n more
// entries arrived, total entries are in, ctx is done or the connection
// fails; it returns nil in the first two cases. A poll client polls until
// then.
func (c *Client) Read(ctx context.Context, base string, n, total int) error {
	c.Conns++
	start := c.count()
	enough := func() bool { got := c.count(); return got-start >= n || got >= total }
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("transport", c.Transport)
	q.Set("cursor", c.cursor())
	var rerr error
	switch c.Transport {
	case "websocket":
		rerr = c.readWS(ctx, u, q, enough)
	case "sse":
		rerr = c.readSSE(ctx, u, q, enough)
	case "stream":
		rerr = c.readNDJSON(ctx, u, q, enough)
	case "poll":
		rerr = c.readPoll(ctx, u, q, enough)
	default:
		return fmt.Errorf("clustertest: unknown transport %q", c.Transport)
	}
	if rerr == nil || errors.Is(rerr, errEnough) {
		return nil
	}
	c.Fails++
	return rerr
}

func (c *Client) readWS(ctx context.Context, u *url.URL, q url.Values, enough func() bool) error {
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.RawQuery = q.Encode()
	conn, _, err := wsproto.Dial(ctx, u.String(), nil)
	if err != nil {
		return err
	}
	defer conn.CloseNow()
	var buf []byte
	for !enough() {
		_, msg, err := conn.Read(ctx, buf)
		if err != nil {
			return err
		}
		buf = wsproto.ReuseBuffer(msg)
		var r record
		if err := json.Unmarshal(msg, &r); err != nil {
			return fmt.Errorf("record %q: %v", msg, err)
		}
		if err := c.handle(&r); err != nil {
			return err
		}
	}
	conn.Close(frame.CloseNormal, "")
	return errEnough
}

func (c *Client) get(ctx context.Context, u *url.URL, q url.Values) (*http.Response, error) {
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, "GET", u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("status %s: %s", resp.Status, body)
	}
	return resp, nil
}

func (c *Client) readSSE(ctx context.Context, u *url.URL, q url.Values, enough func() bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := c.get(ctx, u, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	d := sseproto.NewDecoder(resp.Body, nil)
	for !enough() {
		ev, err := d.Next()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		var r record
		switch ev.Type {
		case "pushwire.cursor":
			r.Cursor = &ev.Data
		case "pushwire.gap":
			id := ev.ID
			r.Cursor = &id
			if err := json.Unmarshal([]byte(ev.Data), &r.Gap); err != nil {
				return err
			}
		case "pushwire.reset":
			id := ev.ID
			r.Cursor = &id
			if err := json.Unmarshal([]byte(ev.Data), &r.Reset); err != nil {
				return err
			}
		default:
			// An entry: its id is EPOCH:SEQ.
			i := strings.LastIndexByte(ev.ID, ':')
			seq, err := strconv.ParseUint(ev.ID[i+1:], 10, 64)
			if err != nil {
				return fmt.Errorf("event id %q: %v", ev.ID, err)
			}
			if i >= 0 {
				c.mu.Lock()
				c.epoch = ev.ID[:i]
				c.mu.Unlock()
			}
			r.Seq, r.Data = &seq, ev.Data
		}
		if err := c.handle(&r); err != nil {
			return err
		}
	}
	return errEnough
}

func (c *Client) readNDJSON(ctx context.Context, u *url.URL, q url.Values, enough func() bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := c.get(ctx, u, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for !enough() {
		if !sc.Scan() {
			if sc.Err() != nil {
				return sc.Err()
			}
			return io.ErrUnexpectedEOF
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return fmt.Errorf("line %q: %v", line, err)
		}
		if err := c.handle(&r); err != nil {
			return err
		}
	}
	return errEnough
}

func (c *Client) readPoll(ctx context.Context, u *url.URL, q url.Values, enough func() bool) error {
	for !enough() {
		q.Set("cursor", c.cursor())
		q.Set("timeout", "2")
		resp, err := c.get(ctx, u, q)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var a struct {
			Cursor  string   `json:"cursor"`
			Entries []record `json:"entries"`
			Gap     *struct {
				After, Oldest, Lost uint64
			} `json:"gap"`
			Reset *struct {
				Epoch string `json:"epoch"`
				After uint64 `json:"after"`
			} `json:"reset"`
		}
		if err := json.Unmarshal(body, &a); err != nil {
			return fmt.Errorf("poll answer %q: %v", body, err)
		}
		if a.Reset != nil {
			c.handle(&record{Reset: a.Reset, Cursor: &a.Cursor})
		}
		for i := range a.Entries {
			c.handle(&a.Entries[i])
		}
		if a.Gap != nil {
			c.handle(&record{Gap: a.Gap, Cursor: &a.Cursor})
		} else {
			c.setCursor(a.Cursor)
		}
	}
	return errEnough
}
