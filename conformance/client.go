package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/pushwire/pushwire/handshake"
)

// FuzzingServer tests WebSocket clients: it serves the cases of the
// catalogue with the endpoints of Autobahn|Testsuite's fuzzing server, so
// that a client written for it runs unchanged:
//
//	/getCaseCount                   a text message with the number of cases
//	/getCaseInfo?case=N             a JSON object with case N's id and description
//	/runCase?case=N&agent=NAME      case N (1-based), for the client to echo
//	/getCaseStatus?case=N&agent=A   a JSON object {"behavior": "OK"} for a case run
//	/updateReports?agent=NAME       calls OnReport with the agent's report
//
// Every endpoint is a WebSocket endpoint. A FuzzingServer is an
// http.Handler and is safe for concurrent use: clients may run cases in
// parallel.
type FuzzingServer struct {
	opts  Options
	cases []*wsCase
	// OnReport, when set, is called by /updateReports with the agent's
	// report so far; its error is sent to the client as the close reason.
	OnReport func(r *Report) error

	data []*testData

	mu      sync.Mutex
	reports map[string]*Report
	running map[string]*sync.WaitGroup // cases under way, per agent
	done    int
}

// NewFuzzingServer returns a fuzzing server for the cases opts selects
// (opts.Cases, Exclude, Timeout, Strict, ReadLimit, TestData and Progress
// apply; URL, Parallel and TLSConfig do not).
func NewFuzzingServer(options *Options) (*FuzzingServer, error) {
	opts := options.copy()
	cases := selectCases(catalogue(roleClient), opts.Cases, opts.Exclude)
	if len(cases) == 0 {
		return nil, errors.New("conformance: no case selected")
	}
	data, err := loadTestData(opts.TestData)
	if err != nil {
		return nil, err
	}
	return &FuzzingServer{opts: opts, cases: cases, data: data, reports: map[string]*Report{}, running: map[string]*sync.WaitGroup{}}, nil
}

// CaseCount returns the number of cases served.
func (f *FuzzingServer) CaseCount() int { return len(f.cases) }

// Report returns a copy of the report for agent, with the cases it ran
// so far in catalogue order, or nil. It first waits for the agent's cases
// under way to be graded: a client may see the end of a case before the
// harness has finished grading it.
func (f *FuzzingServer) Report(agent string) *Report {
	f.mu.Lock()
	wg := f.running[agent]
	f.mu.Unlock()
	if wg != nil {
		wg.Wait()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.reports[agent]
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

// ServeHTTP serves the endpoints.
func (f *FuzzingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	agent := q.Get("agent")
	n, _ := strconv.Atoi(q.Get("case"))
	switch r.URL.Path {
	case "/getCaseCount":
		f.simple(w, r, strconv.Itoa(len(f.cases)))
	case "/getCaseInfo":
		if n < 1 || n > len(f.cases) {
			http.Error(w, "no such case", http.StatusNotFound)
			return
		}
		c := f.cases[n-1]
		b, _ := json.Marshal(map[string]string{"id": c.id, "description": c.desc})
		f.simple(w, r, string(b))
	case "/getCaseStatus":
		st := "UNKNOWN"
		if rep := f.Report(agent); rep != nil && n >= 1 && n <= len(f.cases) {
			for _, res := range rep.Results {
				if res.ID == f.cases[n-1].id {
					st = res.Behavior.String()
				}
			}
		}
		b, _ := json.Marshal(map[string]string{"behavior": st})
		f.simple(w, r, string(b))
	case "/updateReports":
		reason := ""
		if rep := f.Report(agent); rep != nil && f.OnReport != nil {
			if err := f.OnReport(rep); err != nil {
				reason = err.Error()
			}
		}
		f.simpleClose(w, r, "", reason)
	case "/runCase":
		if n < 1 || n > len(f.cases) || agent == "" {
			http.Error(w, "runCase needs case=1.."+strconv.Itoa(len(f.cases))+" and agent", http.StatusBadRequest)
			return
		}
		f.runCase(w, r, f.cases[n-1], agent)
	default:
		http.NotFound(w, r)
	}
}

// simple sends one text message and closes.
func (f *FuzzingServer) simple(w http.ResponseWriter, r *http.Request, msg string) {
	f.simpleClose(w, r, msg, "")
}

// simpleClose answers a service endpoint: it sends msg (if any), closes
// with 1000 and reason, and waits a time unit for the client's close.
func (f *FuzzingServer) simpleClose(w http.ResponseWriter, r *http.Request, msg, reason string) {
	st, err := upgrade(w, r, "")
	if err != nil {
		return
	}
	defer st.conn.Close()
	if len(reason) > 123 {
		reason = reason[:123]
	}
	var b []byte
	if msg != "" {
		b = appendFrame(b, &frameSpec{op: opText, fin: true, payload: []byte(msg)}, false, nil)
	}
	b = appendFrame(b, &frameSpec{op: opClose, fin: true, payload: closeCode(1000, reason)}, false, nil)
	st.conn.SetDeadline(time.Now().Add(f.opts.unit()))
	if _, err := st.conn.Write(b); err != nil {
		return
	}
	// Read until the client's close frame or the deadline; the server then
	// closes the TCP connection (RFC 6455 §5.5.1).
	var hb [maxHeader]byte
	for {
		if _, err := io.ReadFull(st.br, hb[:2]); err != nil {
			return
		}
		n := headerSize(hb[:2])
		if _, err := io.ReadFull(st.br, hb[2:n]); err != nil {
			return
		}
		h, err := parseHeader(hb[:n])
		if err != nil || h.Length > 125 {
			return
		}
		if _, err := io.CopyN(io.Discard, st.br, h.Length); err != nil {
			return
		}
		if h.Opcode == opClose {
			return
		}
	}
}

// runCase runs c with the client that connected.
func (f *FuzzingServer) runCase(w http.ResponseWriter, r *http.Request, c *wsCase, agent string) {
	start := time.Now()
	f.mu.Lock()
	wg := f.running[agent]
	if wg == nil {
		wg = new(sync.WaitGroup)
		f.running[agent] = wg
	}
	wg.Add(1)
	f.mu.Unlock()
	defer wg.Done()
	res := newResult(c)
	var (
		resp, offer pmdParams
		agreed      bool
		exts        string
	)
	if c.pmd != nil {
		if offers, err := handshake.ParseExtensions(r.Header); err == nil {
			if resp, offer, agreed = c.pmd.accept(offers); agreed {
				exts = resp.responseString()
			}
		}
	}
	st, err := upgrade(w, r, exts)
	if err != nil {
		return
	}
	// Over HTTP/2 the handler's return ends the stream, and the stream
	// must be closed first (h2stream.Accept); the session closes it when
	// the case ends, and this covers a panic recovered in runSession.
	defer st.conn.Close()
	s := newSession(st.conn, st.br, true, f.opts.unit(), c)
	s.strict, s.peerLimit, s.data = f.opts.Strict, f.opts.ReadLimit, f.data
	s.log(Event{Dir: "note", Kind: "handshake", Text: st.info})
	res.Extensions = exts
	onOpen := c.run
	switch {
	case agreed:
		c.pmd.setupServer(s, resp, offer)
		s.mayDecline = true
	case c.pmd != nil:
		onOpen = notNegotiated(errNoPMD)
	}
	runSession(s, onOpen, res)
	res.DurationMS = ms(time.Since(start))

	f.mu.Lock()
	rep := f.reports[agent]
	if rep == nil {
		rep = &Report{Agent: agent, Role: "client", Started: start, Strict: f.opts.Strict, Results: make([]*Result, len(f.cases))}
		f.reports[agent] = rep
	}
	i := slices.Index(f.cases, c)
	rep.Results[i] = res
	rep.DurationMS = ms(time.Since(rep.Started))
	f.done++
	if f.opts.Progress != nil {
		f.opts.Progress(f.done, len(f.cases), res)
	}
	f.mu.Unlock()
}

// String describes the server.
func (f *FuzzingServer) String() string {
	return fmt.Sprintf("fuzzing server with %d cases", len(f.cases))
}
