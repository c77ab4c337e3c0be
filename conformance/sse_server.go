package conformance

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// sseEvent is an event as the harness parses a stream (WHATWG HTML
// §9.2.6 "Interpreting an event stream"), with the raw lines that made it.
type sseEvent struct {
	Type        string `json:"type"`
	Data        string `json:"data"`
	LastEventID string `json:"lastEventId"`
	// ID is the id field of this event itself, if it had one.
	ID    string `json:"-"`
	HasID bool   `json:"-"`
}

// sseReader reads an event stream from raw bytes and records what it
// saw, for the sse-server checks.
type sseReader struct {
	br       *bufio.Reader
	lastID   string
	comments int
	problems []string
	first    bool
	// stopOnComment makes next return errComment at a comment line.
	stopOnComment bool
}

var errComment = errors.New("comment line")

// readLine reads one line ending in CRLF, LF or CR (WHATWG §9.2.5).
func (r *sseReader) readLine() (string, error) {
	var b []byte
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			return string(b), err
		}
		switch c {
		case '\n':
			return string(b), nil
		case '\r':
			if n, err := r.br.Peek(1); err == nil && n[0] == '\n' {
				r.br.ReadByte()
			}
			return string(b), nil
		}
		b = append(b, c)
	}
}

// next returns the next dispatched event, checking the syntax of every
// line on the way.
func (r *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	var data strings.Builder
	hasData := false
	for {
		line, err := r.readLine()
		if err != nil {
			return ev, err
		}
		if !r.first {
			r.first = true
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if !utf8.ValidString(line) {
			r.problems = append(r.problems, fmt.Sprintf("line %q is not UTF-8 (WHATWG §9.2.5: streams MUST be encoded as UTF-8)", line))
		}
		if line == "" {
			if !hasData {
				ev = sseEvent{}
				continue
			}
			ev.Data = data.String()
			if ev.Type == "" {
				ev.Type = "message"
			}
			ev.LastEventID = r.lastID
			return ev, nil
		}
		if line[0] == ':' {
			r.comments++
			if r.stopOnComment {
				return ev, errComment
			}
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
		case "event":
			ev.Type = value
		case "id":
			if strings.ContainsRune(value, 0) {
				r.problems = append(r.problems, fmt.Sprintf("id %q holds U+0000, so clients ignore it (WHATWG §9.2.6)", value))
				continue
			}
			r.lastID, ev.ID, ev.HasID = value, value, true
		case "retry":
			if value == "" || strings.Trim(value, "0123456789") != "" {
				r.problems = append(r.problems, fmt.Sprintf("retry %q is not ASCII digits, so clients ignore it (WHATWG §9.2.6)", value))
			}
		default:
			r.problems = append(r.problems, fmt.Sprintf("unknown field %q, ignored by clients", name))
		}
	}
}

// sseServerCase is one check of an SSE server.
type sseServerCase struct {
	id, desc, expect string
	run              func(e *sseEnv)
}

// sseEnv is what an SSE server case works with.
type sseEnv struct {
	ctx     context.Context
	url     string
	client  *http.Client
	timeout time.Duration
	start   time.Time
	res     *Result
}

func (e *sseEnv) log(ev Event) {
	ev.At = ms(time.Since(e.start))
	if len(e.res.Events) < maxEvents {
		e.res.Events = append(e.res.Events, ev)
	}
}

func (e *sseEnv) grade(o Outcome, format string, args ...any) {
	if o >= e.res.Behavior {
		e.res.Behavior, e.res.BehaviorReason = o, fmt.Sprintf(format, args...)
	}
}

// open requests the stream; the caller closes the body.
func (e *sseEnv) open(ctx context.Context, lastID string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", e.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	e.log(Event{Dir: "sent", Kind: "request", Text: "GET " + e.url + map[bool]string{true: "\nLast-Event-ID: " + lastID, false: ""}[lastID != ""]})
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, err
	}
	e.log(Event{Dir: "recv", Kind: "response", Code: resp.StatusCode, Text: "Content-Type: " + resp.Header.Get("Content-Type")})
	return resp, nil
}

// events reads up to n events within d.
func (e *sseEnv) events(lastID string, n int, d time.Duration) ([]sseEvent, *sseReader, error) {
	return e.eventsUntil(lastID, n, d, false)
}

// eventsUntil is events that stops at a comment line if stopOnComment.
func (e *sseEnv) eventsUntil(lastID string, n int, d time.Duration, stopOnComment bool) ([]sseEvent, *sseReader, error) {
	ctx, cancel := context.WithTimeout(e.ctx, d)
	defer cancel()
	resp, err := e.open(ctx, lastID)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	r := &sseReader{br: bufio.NewReader(resp.Body), stopOnComment: stopOnComment}
	var evs []sseEvent
	for len(evs) < n {
		ev, err := r.next()
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
				err = context.DeadlineExceeded
			}
			return evs, r, err
		}
		e.log(Event{Dir: "recv", Kind: "event", Opcode: ev.Type, Data: preview([]byte(ev.Data)), Text: "lastEventId=" + ev.LastEventID})
		evs = append(evs, ev)
	}
	return evs, r, nil
}

var sseServerCases = []sseServerCase{
	{"1.1", "GET the stream with Accept: text/event-stream.", "200 with Content-Type text/event-stream (WHATWG §9.2.5, IANA registration).", func(e *sseEnv) {
		ctx, cancel := context.WithTimeout(e.ctx, e.timeout)
		defer cancel()
		resp, err := e.open(ctx, "")
		if err != nil {
			e.grade(Failed, "request: %v", err)
			return
		}
		resp.Body.Close()
		mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		switch {
		case resp.StatusCode != 200:
			e.grade(Failed, "status %d, want 200", resp.StatusCode)
		case mt != "text/event-stream":
			e.grade(Failed, "Content-Type %q, want text/event-stream (clients fail the connection otherwise)", resp.Header.Get("Content-Type"))
		default:
			e.grade(OK, "200, %s", resp.Header.Get("Content-Type"))
		}
	}},
	{"1.2", "Read the first event while the response is still open.", "A complete event arrives before the response ends: each event is flushed as it is written.", func(e *sseEnv) {
		evs, _, err := e.events("", 1, e.timeout)
		switch {
		case len(evs) == 1:
			e.grade(OK, "first event received while the stream is open")
		case errors.Is(err, context.DeadlineExceeded):
			e.grade(Failed, "no complete event within %v: the server buffers events or sends none", e.timeout)
		default:
			e.grade(Failed, "no event before the stream ended: %v", err)
		}
	}},
	{"2.1", "Read three events (or what comes within the case timeout) and check every line.", "UTF-8 throughout, known fields only, ids without U+0000, retry values of ASCII digits (WHATWG §9.2.5, §9.2.6).", func(e *sseEnv) {
		evs, r, err := e.events("", 3, e.timeout)
		if r == nil {
			e.grade(Failed, "%v", err)
			return
		}
		if len(r.problems) > 0 {
			e.grade(Failed, "%s", strings.Join(r.problems, "; "))
			return
		}
		e.grade(OK, "%d events, every line well formed", len(evs))
	}},
	{"3.1", "Read events until one has an id, note the event after it, then reconnect with Last-Event-ID set to that id.", "The resumed stream starts with the event that followed (OK); a server that restarts elsewhere: INFORMATIONAL; one that repeats the id's own event: FAILED.", func(e *sseEnv) {
		evs, _, _ := e.events("", 3, e.timeout*2)
		var id string
		var next *sseEvent
		for i, ev := range evs {
			if ev.HasID {
				id = ev.ID
				if i+1 < len(evs) {
					next = &evs[i+1]
				} else {
					next = nil
				}
				break
			}
		}
		if id == "" {
			e.grade(Informational, "the server sent no event with an id; resuming cannot be checked")
			return
		}
		resumed, _, err := e.events(id, 1, e.timeout*2)
		switch {
		case len(resumed) == 0:
			e.grade(Failed, "no event after reconnecting with Last-Event-ID %q: %v", id, err)
		case resumed[0].HasID && resumed[0].ID == id:
			e.grade(Failed, "the server replayed event %q itself after Last-Event-ID %q", id, id)
		case next != nil && resumed[0].Data == next.Data && resumed[0].ID == next.ID:
			e.grade(OK, "resumed with the event after %q", id)
		default:
			e.grade(Informational, "resumed with event id %q, data %q (not the one that followed %q on the first connection)", resumed[0].ID, resumed[0].Data, id)
		}
	}},
	{"4.1", "Keep the stream open for 5 times the case timeout and look for comment lines or events.", "Comment lines (keep-alives) or events keep the idle connection alive: OK; nothing but silence: INFORMATIONAL (the spec recommends a comment every 15 s or so).", func(e *sseEnv) {
		_, r, _ := e.eventsUntil("", 1<<30, e.timeout*5, true)
		if r == nil {
			e.grade(Failed, "no stream")
			return
		}
		if r.comments > 0 {
			e.grade(OK, "%d comment line(s) seen", r.comments)
		} else {
			e.grade(Informational, "no comment line within %v", e.timeout*5)
		}
	}},
}

// RunSSEServer checks the Server-Sent Events stream at opts.URL (http or
// https): content type, per-event flush, line syntax, Last-Event-ID
// resume and keep-alives. opts.Cases, Exclude, Parallel, Timeout, Agent
// and Progress apply.
func RunSSEServer(ctx context.Context, options *Options) (*Report, error) {
	opts := options.copy()
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("conformance: SSE URL %q must be http:// or https://", opts.URL)
	}
	if opts.Agent == "" {
		opts.Agent = u.Host
	}
	var cases []sseServerCase
	for _, c := range sseServerCases {
		w := &wsCase{id: c.id}
		if len(selectCases([]*wsCase{w}, opts.Cases, opts.Exclude)) == 1 {
			cases = append(cases, c)
		}
	}
	if len(cases) == 0 {
		return nil, errors.New("conformance: no case selected")
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultSSETimeout
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: opts.TLSConfig, DisableCompression: true}}
	defer client.CloseIdleConnections()
	rep := &Report{Agent: opts.Agent, Role: "sse-server", Target: opts.URL, Started: time.Now(), Results: make([]*Result, len(cases))}
	runAll(ctx, len(cases), opts.Parallel, func(i int) *Result {
		c := cases[i]
		res := &Result{ID: c.id, Description: c.desc, Expectation: c.expect, CloseReason: "not applicable"}
		e := &sseEnv{ctx: ctx, url: opts.URL, client: client, timeout: timeout, start: time.Now(), res: res}
		c.run(e)
		res.DurationMS = ms(time.Since(e.start))
		rep.Results[i] = res
		return res
	}, opts.Progress)
	rep.DurationMS = ms(time.Since(rep.Started))
	return rep, nil
}
