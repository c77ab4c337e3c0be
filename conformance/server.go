package conformance

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/pushwire/pushwire/handshake"
)

// Options configures a run of the cases. The functions that take an
// *Options read it and never modify it; nil is the zero value.
type Options struct {
	// URL is the ws:// or wss:// URL of the server under test (RunServer).
	URL string
	// Agent names the implementation under test in the reports.
	// Default: the URL's host (RunServer) or the agent the client gives.
	Agent string
	// Cases selects cases by id or pattern ("6.*", "7.7.1", "6.4");
	// default: all. Exclude leaves cases out, with the same patterns.
	Cases, Exclude []string
	// Parallel is the number of cases run at once. Default (0): 1.
	Parallel int
	// Timeout is how long a case waits for each reaction of the peer.
	// Default (0): DefaultTimeout; 9.x waits 15 times longer and 12.x and
	// 13.x 10 times.
	Timeout time.Duration
	// ReadLimit is the largest message the peer says it accepts, used by
	// case 15.4.1 (a message past it must fail with 1009). Default (0):
	// unknown; the case then announces a 1 TiB message.
	ReadLimit int64
	// Header holds extra handshake request headers, such as Origin.
	Header http.Header
	// TLSConfig is used for wss:// URLs. Default: nil, the system roots.
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

func (o *Options) timeout(c *wsCase) time.Duration {
	t := o.Timeout
	if t <= 0 {
		t = DefaultTimeout
	}
	if c.slow > 0 {
		t *= time.Duration(c.slow)
	}
	return t
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
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("conformance: URL scheme %q, want ws or wss", u.Scheme)
	}
	if opts.Agent == "" {
		opts.Agent = u.Host
	}
	cases := selectCases(catalogue(roleServer), opts.Cases, opts.Exclude)
	if len(cases) == 0 {
		return nil, errors.New("conformance: no case selected")
	}
	rep := &Report{Agent: opts.Agent, Role: "server", Target: opts.URL, Started: time.Now()}
	rep.Results = make([]*Result, len(cases))
	runAll(ctx, len(cases), opts.Parallel, func(i int) *Result {
		r := runServerCase(ctx, &opts, u, cases[i])
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

// dial opens the TCP (or TLS) connection to u.
func dial(ctx context.Context, opts *Options, u *url.URL, timeout time.Duration) (net.Conn, error) {
	host := u.Host
	if u.Port() == "" {
		if u.Scheme == "wss" {
			host = net.JoinHostPort(u.Hostname(), "443")
		} else {
			host = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil || u.Scheme != "wss" {
		return conn, err
	}
	cfg := &tls.Config{}
	if opts.TLSConfig != nil {
		cfg = opts.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	tc := tls.Client(conn, cfg)
	tc.SetDeadline(time.Now().Add(timeout))
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	tc.SetDeadline(time.Time{})
	return tc, nil
}

func newResult(c *wsCase) *Result {
	return &Result{ID: c.id, Description: c.desc, Expectation: c.expect}
}

// runServerCase runs one case against the server.
func runServerCase(ctx context.Context, opts *Options, u *url.URL, c *wsCase) *Result {
	start := time.Now()
	res := newResult(c)
	timeout := opts.timeout(c)
	defer func() { res.DurationMS = ms(time.Since(start)) }()
	if c.raw != nil {
		env := &rawEnv{ctx: ctx, opts: opts, url: u, timeout: timeout, start: start, res: res}
		c.raw(env)
		return res
	}
	fail := func(format string, args ...any) *Result {
		res.Behavior, res.BehaviorClose = Failed, Failed
		res.BehaviorReason = fmt.Sprintf(format, args...)
		res.CloseReason = "no connection"
		return res
	}
	conn, err := dial(ctx, opts, u, timeout)
	if err != nil {
		return fail("dial: %v", err)
	}
	conn.SetDeadline(time.Now().Add(timeout + 5*time.Second))
	br := bufio.NewReaderSize(conn, 64<<10)
	copts := handshake.ClientOptions{Header: opts.Header}
	if c.offer != nil {
		copts.Extensions = c.offer.offers
	}
	hs, err := handshake.ClientHandshake(conn, br, u, &copts)
	if err != nil {
		conn.Close()
		return fail("opening handshake: %v", err)
	}
	conn.SetDeadline(time.Time{})
	s := newSession(conn, br, true, timeout)
	s.log(Event{Dir: "note", Kind: "handshake", Text: "101 Switching Protocols"})
	if opts.ReadLimit > 0 {
		s.peerLimit = opts.ReadLimit
	}
	exts := handshake.FormatExtensions(hs.Extensions)
	res.Extensions = exts
	return runSession(s, c, res, hs.Extensions)
}

// runSession runs case c on an established session and fills res.
func runSession(s *session, c *wsCase, res *Result, agreed []handshake.Extension) *Result {
	go s.recorder()
	if c.offer != nil {
		if err := c.offer.setup(s, agreed); err != nil {
			o := Failed
			if errors.Is(err, errNoPMD) {
				o = Unimplemented
			}
			s.setBehavior(o, "%v", err)
			s.expClose = &closeExpect{byMe: true, codes: []int{1000}}
			s.send(closeFrame(closeCode(1000, "")))
			s.wait(s.timeout, s.closedByPeer)
			res.Behavior, res.BehaviorClose, res.BehaviorReason, res.CloseReason = s.finish()
			if o == Unimplemented {
				res.BehaviorClose, res.CloseReason = Unimplemented, "permessage-deflate not negotiated"
			}
			res.Events = s.events
			return res
		}
	}
	c.run(s)
	res.Behavior, res.BehaviorClose, res.BehaviorReason, res.CloseReason = s.finish()
	res.RemoteCloseCode, res.RemoteCloseReason, res.ClosedByMe = s.remoteCode, s.remoteWhy, s.closedByMe
	if !s.recvClose {
		res.RemoteCloseCode = 0
	}
	res.Events = s.events
	return res
}
