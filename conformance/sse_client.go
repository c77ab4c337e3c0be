package conformance

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// sseResponse is one response of an SSE client case.
type sseResponse struct {
	status      int    // 0: 200
	contentType string // "": text/event-stream
	chunks      []string
}

// sseClientCase is an event stream served to a client under test, with
// the events the client must dispatch.
type sseClientCase struct {
	id, desc string
	// responses answers the n-th request; later requests get 204 No
	// Content, which stops a conforming client (WHATWG §9.2.3).
	responses []sseResponse
	want      []sseEvent
	// fatal: the first response must end the client: exactly one request.
	fatal bool
	// wantLastID, if set, is the Last-Event-ID the second request must carry.
	wantLastID string
	// noRetry leaves out the "retry: 20" line that keeps reconnects fast.
	noRetry bool
}

func msg(data, id string) sseEvent { return sseEvent{Type: "message", Data: data, LastEventID: id} }

func one(chunks ...string) []sseResponse { return []sseResponse{{chunks: chunks}} }

var sseClientCases = []sseClientCase{
	{id: "1.1", desc: "One event with one data line.", responses: one("data: hello\n\n"), want: []sseEvent{msg("hello", "")}},
	{id: "1.2", desc: "Two data lines make one event, joined by LF.", responses: one("data: first\ndata: second\n\n"), want: []sseEvent{msg("first\nsecond", "")}},
	{id: "1.3", desc: "No space after the colon; two spaces (only one is removed).", responses: one("data:x\n\ndata:  y\n\n"), want: []sseEvent{msg("x", ""), msg(" y", "")}},
	{id: "1.4", desc: "Lines ended by CRLF, CR and LF, mixed.", responses: one("data: a\r\n\r\ndata: b\r\rdata: c\n\n"), want: []sseEvent{msg("a", ""), msg("b", ""), msg("c", "")}},
	{id: "1.5", desc: "An event field sets the type; it is reset after dispatch.", responses: one("event: tick\ndata: 1\n\ndata: 2\n\n"), want: []sseEvent{{Type: "tick", Data: "1"}, msg("2", "")}},
	{id: "1.6", desc: "Comment lines are ignored, also between data lines.", responses: one(": hello\ndata: a\n: between\ndata: b\n\n"), want: []sseEvent{msg("a\nb", "")}},
	{id: "1.7", desc: "A field name without colon: \"data\" gives an empty data line.", responses: one("data\n\ndata\ndata\n\n"), want: []sseEvent{msg("", ""), msg("\n", "")}},
	{id: "1.8", desc: "A block without data dispatches nothing.", responses: one("event: empty\n\nid: 3\n\ndata: after\n\n"), want: []sseEvent{msg("after", "3")}},
	{id: "1.9", desc: "The id field sets lastEventId, kept by later events.", responses: one("id: 1\ndata: a\n\ndata: b\n\n"), want: []sseEvent{msg("a", "1"), msg("b", "1")}},
	{id: "1.10", desc: "An id holding U+0000 is ignored.", responses: one("id: 5\ndata: a\n\nid: x\x00y\ndata: b\n\n"), want: []sseEvent{msg("a", "5"), msg("b", "5")}},
	{id: "1.11", desc: "An empty id resets lastEventId.", responses: one("id: 9\ndata: a\n\nid\ndata: b\n\n"), want: []sseEvent{msg("a", "9"), msg("b", "")}},
	{id: "1.12", desc: "Unknown fields and a bad retry value are ignored.", responses: one("foo: bar\nretry: 1x\ndata: a\n\n"), want: []sseEvent{msg("a", "")}},
	{id: "1.13", desc: "A leading byte order mark is skipped.", responses: one("\uFEFFdata: bom\n\n"), want: []sseEvent{msg("bom", "")}},
	{id: "1.14", desc: "An unterminated last event is not dispatched when the stream ends.", responses: one("data: whole\n\ndata: cut"), want: []sseEvent{msg("whole", "")}},
	{id: "1.15", desc: "Invalid UTF-8 decodes to U+FFFD.", responses: one("data: a\xffb\n\n"), want: []sseEvent{msg("a\uFFFDb", "")}},
	{id: "1.16", desc: "A line split across writes, each flushed.", responses: one("da", "ta: sp", "lit\n", "\n"), want: []sseEvent{msg("split", "")}},
	{id: "1.17", desc: "Non-ASCII text in several scripts.", responses: one("data: κόσμε 中文 𝄞\n\n"), want: []sseEvent{msg("κόσμε 中文 𝄞", "")}},
	{id: "2.1", desc: "After the stream ends the client reconnects (retry: 20 ms) and dispatches the second stream's event.",
		responses: []sseResponse{{chunks: []string{"data: a\n\n"}}, {chunks: []string{"data: b\n\n"}}}, want: []sseEvent{msg("a", ""), msg("b", "")}},
	{id: "2.2", desc: "The reconnect carries Last-Event-ID: 7 from the first stream; lastEventId stays 7.",
		responses: []sseResponse{{chunks: []string{"id: 7\ndata: a\n\n"}}, {chunks: []string{"data: b\n\n"}}}, want: []sseEvent{msg("a", "7"), msg("b", "7")}, wantLastID: "7"},
	{id: "2.3", desc: "A response with Content-Type text/plain fails the connection: no event, no reconnect.",
		responses: []sseResponse{{contentType: "text/plain", chunks: []string{"data: no\n\n"}}}, fatal: true},
	{id: "2.4", desc: "A 204 No Content answer stops the client: no reconnect.", responses: []sseResponse{{status: 204}}, fatal: true},
	{id: "2.5", desc: "A 500 answer fails the connection: no reconnect.", responses: []sseResponse{{status: 500}}, fatal: true},
}

// SSEClientServer tests an EventSource client: it serves event streams
// that exercise the parsing and reconnection rules of WHATWG HTML §9.2,
// and grades the events the client reports it dispatched.
//
//	GET  /cases                      JSON list of {"id", "url", "description"}
//	GET  /stream/ID?agent=NAME       the case's event stream (later requests: 204)
//	POST /report/ID?agent=NAME       the dispatched events, as JSON lines or a JSON
//	                                 array of {"type", "data", "lastEventId"}
//	                                 (the output of `pushwire sse -json`)
//	GET  /updateReports?agent=NAME   calls OnReport with the agent's report
type SSEClientServer struct {
	cases []sseClientCase
	opts  Options
	// OnReport, when set, is called by /updateReports.
	OnReport func(r *Report) error

	mu    sync.Mutex
	state map[string]*sseRun // by agent + " " + case id
	reps  map[string]*Report
}

type sseRun struct {
	start    time.Time
	requests []sseRequest
}

type sseRequest struct {
	at                  time.Duration
	lastEventID, accept string
}

// NewSSEClientServer returns a server for the cases opts selects.
func NewSSEClientServer(options *Options) (*SSEClientServer, error) {
	opts := options.copy()
	s := &SSEClientServer{opts: opts, state: map[string]*sseRun{}, reps: map[string]*Report{}}
	for _, c := range sseClientCases {
		if len(selectCases([]*wsCase{{id: c.id}}, opts.Cases, opts.Exclude)) == 1 {
			s.cases = append(s.cases, c)
		}
	}
	if len(s.cases) == 0 {
		return nil, errors.New("conformance: no case selected")
	}
	return s, nil
}

// CaseCount returns the number of cases served.
func (s *SSEClientServer) CaseCount() int { return len(s.cases) }

// Report returns a copy of agent's report so far, or nil.
func (s *SSEClientServer) Report(agent string) *Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.reps[agent]
	if r == nil {
		return nil
	}
	c := *r
	c.Results = nil
	for _, res := range r.Results {
		if res != nil {
			c.Results = append(c.Results, res)
		}
	}
	return &c
}

func (s *SSEClientServer) find(id string) int {
	return slices.IndexFunc(s.cases, func(c sseClientCase) bool { return c.id == id })
}

// ServeHTTP serves the endpoints.
func (s *SSEClientServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	agent := r.URL.Query().Get("agent")
	switch {
	case r.URL.Path == "/cases":
		type info struct {
			ID          string `json:"id"`
			URL         string `json:"url"`
			Description string `json:"description"`
		}
		var list []info
		for _, c := range s.cases {
			list = append(list, info{c.id, "/stream/" + c.id, c.desc})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(list)
	case strings.HasPrefix(r.URL.Path, "/stream/"):
		i := s.find(strings.TrimPrefix(r.URL.Path, "/stream/"))
		if i < 0 {
			http.NotFound(w, r)
			return
		}
		s.stream(w, r, s.cases[i], agent)
	case strings.HasPrefix(r.URL.Path, "/report/") && r.Method == http.MethodPost:
		i := s.find(strings.TrimPrefix(r.URL.Path, "/report/"))
		if i < 0 {
			http.NotFound(w, r)
			return
		}
		got, err := parseDispatched(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res := s.grade(s.cases[i], agent, got)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"behavior": res.Behavior.String(), "reason": res.BehaviorReason})
	case r.URL.Path == "/updateReports":
		if rep := s.Report(agent); rep != nil && s.OnReport != nil {
			if err := s.OnReport(rep); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

func (s *SSEClientServer) stream(w http.ResponseWriter, r *http.Request, c sseClientCase, agent string) {
	key := agent + " " + c.id
	s.mu.Lock()
	run := s.state[key]
	if run == nil {
		run = &sseRun{start: time.Now()}
		s.state[key] = run
	}
	n := len(run.requests)
	run.requests = append(run.requests, sseRequest{time.Since(run.start), r.Header.Get("Last-Event-ID"), r.Header.Get("Accept")})
	s.mu.Unlock()
	if n >= len(c.responses) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	resp := c.responses[n]
	if resp.status != 0 && resp.status != 200 {
		w.WriteHeader(resp.status)
		return
	}
	ct := resp.contentType
	if ct == "" {
		ct = "text/event-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(200)
	rc := http.NewResponseController(w)
	first := true
	write := func(p string) {
		io.WriteString(w, p)
		rc.Flush()
	}
	for _, ch := range resp.chunks {
		if first && !c.noRetry {
			// Keep reconnects fast; after a leading BOM, if any.
			bom := strings.HasPrefix(ch, "\uFEFF")
			if bom {
				write("\uFEFF")
				ch = strings.TrimPrefix(ch, "\uFEFF")
			}
			write("retry: 20\n")
		}
		first = false
		write(ch)
	}
}

// parseDispatched reads JSON lines or a JSON array of events.
func parseDispatched(r io.Reader) ([]sseEvent, error) {
	br := bufio.NewReader(r)
	b, err := br.Peek(1)
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(br)
	var evs []sseEvent
	if b[0] == '[' {
		err := dec.Decode(&evs)
		return evs, err
	}
	for {
		var ev sseEvent
		if err := dec.Decode(&ev); err == io.EOF {
			return evs, nil
		} else if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
}

func sseSummary(evs []sseEvent) string {
	if len(evs) == 0 {
		return "nothing"
	}
	var parts []string
	for _, e := range evs {
		parts = append(parts, fmt.Sprintf("{%s %q id=%q}", e.Type, e.Data, e.LastEventID))
	}
	return strings.Join(parts, " ")
}

// grade records the result of case c for agent.
func (s *SSEClientServer) grade(c sseClientCase, agent string, got []sseEvent) *Result {
	res := &Result{ID: c.id, Description: c.desc, Expectation: "dispatched: " + sseSummary(c.want), BehaviorClose: OK, CloseReason: "not applicable"}
	s.mu.Lock()
	run := s.state[agent+" "+c.id]
	var reqs []sseRequest
	if run != nil {
		reqs = slices.Clone(run.requests)
		res.DurationMS = ms(time.Since(run.start))
		delete(s.state, agent+" "+c.id)
	}
	s.mu.Unlock()
	for i, q := range reqs {
		res.Events = append(res.Events, Event{At: ms(q.at), Dir: "recv", Kind: "request", Text: fmt.Sprintf("request %d: Accept %q, Last-Event-ID %q", i+1, q.accept, q.lastEventID)})
	}
	for _, e := range got {
		res.Events = append(res.Events, Event{Dir: "recv", Kind: "event", Opcode: e.Type, Data: preview([]byte(e.Data)), Text: "lastEventId=" + e.LastEventID})
	}
	wantReqs := len(c.responses) + 1
	if c.fatal {
		wantReqs = 1
	}
	want := c.want
	switch {
	case len(reqs) == 0:
		res.Behavior, res.BehaviorReason = Failed, "the client never requested the stream"
	case !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0):
		res.Behavior, res.BehaviorReason = Failed, fmt.Sprintf("dispatched %s, want %s", sseSummary(got), sseSummary(want))
	case c.fatal && len(reqs) > 1:
		res.Behavior, res.BehaviorReason = Failed, fmt.Sprintf("%d requests: the client reconnected after a response that must fail the connection (WHATWG §9.2.3)", len(reqs))
	case !c.fatal && len(reqs) < wantReqs:
		res.Behavior, res.BehaviorReason = Failed, fmt.Sprintf("%d requests, want %d: the client did not reconnect after the stream ended (WHATWG §9.2.3)", len(reqs), wantReqs)
	case c.wantLastID != "" && reqs[1].lastEventID != c.wantLastID:
		res.Behavior, res.BehaviorReason = Failed, fmt.Sprintf("reconnected with Last-Event-ID %q, want %q (WHATWG §9.2.4)", reqs[1].lastEventID, c.wantLastID)
	case !strings.Contains(reqs[0].accept, "text/event-stream"):
		res.Behavior, res.BehaviorReason = NonStrict, fmt.Sprintf("dispatched the right events, but the request's Accept is %q, not text/event-stream (WHATWG §9.2.2)", reqs[0].accept)
	default:
		res.Behavior, res.BehaviorReason = OK, fmt.Sprintf("dispatched %s", sseSummary(got))
	}
	s.mu.Lock()
	rep := s.reps[agent]
	if rep == nil {
		rep = &Report{Agent: agent, Role: "sse-client", Started: time.Now(), Results: make([]*Result, len(s.cases))}
		s.reps[agent] = rep
	}
	rep.Results[s.find(c.id)] = res
	rep.DurationMS = ms(time.Since(rep.Started))
	if s.opts.Progress != nil {
		n := 0
		for _, r := range rep.Results {
			if r != nil {
				n++
			}
		}
		s.opts.Progress(n, len(s.cases), res)
	}
	s.mu.Unlock()
	return res
}
