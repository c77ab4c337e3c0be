package conformance

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
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

	mu      sync.Mutex
	reports map[string]*Report
	running map[string]*sync.WaitGroup // cases under way, per agent
	done    int
}

// NewFuzzingServer returns a fuzzing server for the cases opts selects
// (opts.Cases, Exclude, Timeout, ReadLimit and Progress apply; URL,
// Parallel and TLSConfig do not).
func NewFuzzingServer(options *Options) (*FuzzingServer, error) {
	opts := options.copy()
	cases := selectCases(catalogue(roleClient), opts.Cases, opts.Exclude)
	if len(cases) == 0 {
		return nil, errors.New("conformance: no case selected")
	}
	return &FuzzingServer{opts: opts, cases: cases, reports: map[string]*Report{}, running: map[string]*sync.WaitGroup{}}, nil
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

// upgrade completes the opening handshake as the server, answering the
// extensions given.
func upgrade(w http.ResponseWriter, r *http.Request, exts string) (net.Conn, *bufio.Reader, error) {
	req, err := handshake.CheckRequest(r)
	if err != nil {
		handshake.Reject(w, err)
		return nil, nil, err
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if _, err := conn.Write(handshake.AppendResponse(nil, req.Key, "", exts, nil)); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, brw.Reader, nil
}

// simple sends one text message and closes.
func (f *FuzzingServer) simple(w http.ResponseWriter, r *http.Request, msg string) {
	f.simpleClose(w, r, msg, "")
}

func (f *FuzzingServer) simpleClose(w http.ResponseWriter, r *http.Request, msg, reason string) {
	conn, br, err := upgrade(w, r, "")
	if err != nil {
		return
	}
	s := newSession(conn, br, false, f.timeout(nil))
	go s.recorder()
	if msg != "" {
		s.send(text([]byte(msg)))
	}
	if len(reason) > 120 {
		reason = reason[:120]
	}
	s.closeWith(closeCode(1000, reason), []int{1000})
	s.finish()
}

func (f *FuzzingServer) timeout(c *wsCase) time.Duration {
	if c == nil {
		c = &wsCase{}
	}
	return f.opts.timeout(c)
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
	exts := ""
	if c.offer != nil {
		if offers, err := handshake.ParseExtensions(r.Header); err == nil {
			exts = c.offer.accept(offers)
		}
	}
	conn, br, err := upgrade(w, r, exts)
	if err != nil {
		return
	}
	s := newSession(conn, br, false, f.timeout(c))
	s.log(Event{Dir: "note", Kind: "handshake", Text: "101 Switching Protocols; client sent Sec-WebSocket-Extensions: " + r.Header.Get("Sec-WebSocket-Extensions")})
	s.peerLimit = f.opts.ReadLimit
	res.Extensions = exts
	var accepted []handshake.Extension
	if exts != "" {
		h := http.Header{"Sec-Websocket-Extensions": {exts}}
		accepted, _ = handshake.ParseExtensions(h)
	}
	runSession(s, c, res, accepted)
	res.DurationMS = ms(time.Since(start))

	f.mu.Lock()
	rep := f.reports[agent]
	if rep == nil {
		rep = &Report{Agent: agent, Role: "client", Started: start, Results: make([]*Result, len(f.cases))}
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
