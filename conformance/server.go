package conformance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/pushwire/pushwire/handshake"
)

// Options configures a run of the cases. The functions that take an
// *Options read it and never modify it; nil is the zero value.
type Options struct {
	// URL is the ws:// or wss:// URL of the server under test (RunServer),
	// or an https:// URL to run the cases over HTTP/2 (RFC 8441 extended
	// CONNECT; the server must advertise SETTINGS_ENABLE_CONNECT_PROTOCOL).
	URL string
	// Agent names the implementation under test in the reports.
	// Default: the URL's host (RunServer) or the agent the client gives.
	Agent string
	// Cases selects cases by id or pattern ("6.*", "7.7.1", "6.4");
	// default: all. Exclude leaves cases out, with the same patterns.
	Cases, Exclude []string
	// Parallel is the number of cases run at once. Default (0): 1.
	Parallel int
	// Timeout is the length of the one-second unit of the cases' timers:
	// Autobahn's killAfter(1), closeAfter(1), its 1 s closing-handshake and
	// TCP-close timeouts and its pauses all scale with it. A longer unit
	// only gives a slow peer more time. Default (0): DefaultTimeout, 1 s,
	// Autobahn's timing. The SSE roles wait Timeout (default
	// DefaultSSETimeout) for each reaction of the peer.
	Timeout time.Duration
	// Strict adds pushwire's stricter checks: where the peer does not do
	// what the RFC says it SHOULD (a close frame with a status code when it
	// fails the connection, a pong as soon as practical, a read limit
	// enforced before the message arrives), an OK grade becomes NON-STRICT,
	// with the sentence quoted. Strict never makes a grade FAILED.
	Strict bool
	// ReadLimit is the largest message the peer says it accepts, used by
	// the cases of 15.4 (a message past it must fail with 1009) and 15.5.
	// Default (0): unknown; 15.4.1 then announces a 1 TiB message.
	ReadLimit int64
	// TestData is a directory holding Autobahn|Testsuite's test files
	// (autobahntestsuite/testdata: data1.json, lena512.bmp, pg2229.txt,
	// data1.html, 10.1.1.105.5439.pdf), from which the compression cases
	// (12.x, 13.x) then cut their messages exactly as Autobahn does.
	// Default: stand-ins of the same size and kind made by the harness.
	TestData string
	// Header holds extra handshake request headers, such as Origin.
	Header http.Header
	// TLSConfig is used for wss:// and https:// URLs. Default: nil, the
	// system roots.
	TLSConfig *tls.Config
	// Progress, when set, is called after each case with the number of
	// cases done and the total. Calls are serialized.
	Progress func(done, total int, r *Result)
}

// copy returns *o, or the zero Options when o is nil: the harness works on
// a copy and never modifies the caller's Options.
func (o *Options) copy() Options {
	if o == nil {
		return Options{}
	}
	return *o
}

// unit is the length of the cases' one-second unit.
func (o *Options) unit() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

// RunServer runs the selected cases against the WebSocket server at
// opts.URL, one connection per case, and returns the report. It returns
// an error only when the options are unusable; a server that cannot be
// reached fails every case.
func RunServer(ctx context.Context, options *Options) (*Report, error) {
	opts := options.copy()
	u, err := url.Parse(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("conformance: bad URL: %w", err)
	}
	tr, err := newTransport(u, &opts)
	if err != nil {
		return nil, err
	}
	defer tr.close()
	if opts.Agent == "" {
		opts.Agent = u.Host
	}
	cases := slices.DeleteFunc(selectCases(catalogue(roleServer), opts.Cases, opts.Exclude), func(c *wsCase) bool {
		return c.transport != "" && c.transport != tr.name()
	})
	if len(cases) == 0 {
		return nil, errors.New("conformance: no case selected")
	}
	data, err := loadTestData(opts.TestData)
	if err != nil {
		return nil, err
	}
	rep := &Report{Agent: opts.Agent, Role: "server", Target: opts.URL, Started: time.Now(), Strict: opts.Strict}
	rep.Results = make([]*Result, len(cases))
	runAll(ctx, len(cases), opts.Parallel, func(i int) *Result {
		r := runServerCase(ctx, &opts, tr, cases[i], data)
		rep.Results[i] = r
		return r
	}, opts.Progress)
	rep.DurationMS = ms(time.Since(rep.Started))
	return rep, nil
}

// runAll runs n jobs with up to parallel at once, reporting progress.
func runAll(ctx context.Context, n, parallel int, job func(i int) *Result, progress func(done, total int, r *Result)) {
	if parallel < 1 {
		parallel = 1
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
		sem  = make(chan struct{}, parallel)
	)
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := job(i)
			mu.Lock()
			done++
			if progress != nil {
				progress(done, n, r)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
}

func newResult(c *wsCase) *Result {
	return &Result{ID: c.id, Description: c.desc, Expectation: c.expect}
}

// runServerCase runs one case against the server.
func runServerCase(ctx context.Context, opts *Options, tr transport, c *wsCase, data []*testData) *Result {
	start := time.Now()
	res := newResult(c)
	unit := opts.unit()
	defer func() { res.DurationMS = ms(time.Since(start)) }()
	if c.raw != nil {
		env := &rawEnv{ctx: ctx, tr: tr, opts: opts, unit: unit, start: start, res: res}
		runRaw(env, c)
		return res
	}
	var offers []handshake.Extension
	if c.pmd != nil {
		offers = c.pmd.extensions()
	}
	st, err := tr.open(ctx, offers, 5*unit)
	if err != nil {
		res.Behavior, res.BehaviorClose = Failed, Failed
		res.BehaviorReason = "The WebSocket opening handshake was never completed: " + err.Error()
		res.CloseReason = "The WebSocket opening handshake was never completed!"
		return res
	}
	s := newSession(st.conn, st.br, false, unit, c)
	s.strict, s.peerLimit, s.data = opts.Strict, opts.ReadLimit, data
	s.log(Event{Dir: "note", Kind: "handshake", Text: st.info})
	res.Extensions = handshake.FormatExtensions(st.agreed)
	onOpen := c.run
	if c.pmd != nil {
		if err := c.pmd.setupClient(s, st.agreed); err != nil {
			onOpen = notNegotiated(err)
		}
	}
	runSession(s, onOpen, res)
	return res
}

// notNegotiated starts a compression case whose handshake agreed on no
// permessage-deflate (UNIMPLEMENTED, as in Autobahn) or on an invalid one
// (FAILED): the harness closes at once.
func notNegotiated(err error) func(*session) {
	return func(s *session) {
		if errors.Is(err, errNoPMD) {
			s.behavior, s.result = Unimplemented, "permessage-deflate was not agreed"
		} else {
			s.behavior, s.result = Failed, "permessage-deflate: "+err.Error()
		}
		normalClose(s)
		s.sendClose(1000)
	}
}

// runSession runs a case on an established session and fills res. The
// harness recovers a panic of its own into a FAILED grade with the stack
// in the report: the last line of defence, not the way it handles peers.
func runSession(s *session, onOpen func(*session), res *Result) {
	defer func() {
		if v := recover(); v != nil {
			s.stop()
			res.Behavior, res.BehaviorClose = Failed, Failed
			res.BehaviorReason = fmt.Sprintf("the harness failed (a bug in the harness, not in the peer): %v\n%s", v, debug.Stack())
			res.CloseReason = "the harness failed"
			res.Events = s.events
		}
	}()
	s.run(onOpen)
	s.grade()
	s.fill(res)
}
