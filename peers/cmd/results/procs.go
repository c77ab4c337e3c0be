package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// bins holds the programs the run measures, built once at its start.
type bins struct {
	dir      string
	pushwire string // the shipped binary, ./cmd/pushwire of the main module
	loadgen  string
	peer     map[string]string // peer-<name>
	node     string            // path of peer.js, "" without node and ws
}

// peerNames are the Go peer programs under peers/cmd/peer-*.
var peerNames = []string{"pushwire", "gorilla", "coder", "gobwas", "gws"}

// build compiles every program into dir.
func build(dir string) (*bins, error) {
	b := &bins{dir: dir, pushwire: filepath.Join(dir, "pushwire"), loadgen: filepath.Join(dir, "loadgen"), peer: map[string]string{}}
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	run := func(wd string, args ...string) error {
		cmd := exec.Command("go", args...)
		cmd.Dir = wd
		cmd.Stderr = os.Stderr
		return cmd.Run()
	}
	if err := run(root, "build", "-o", b.pushwire, "./cmd/pushwire"); err != nil {
		return nil, fmt.Errorf("building pushwire: %w", err)
	}
	pkgs := []string{"./cmd/loadgen"}
	for _, n := range peerNames {
		pkgs = append(pkgs, "./cmd/peer-"+n)
		b.peer[n] = filepath.Join(dir, "peer-"+n)
	}
	if err := run(".", append([]string{"build", "-o", dir + "/"}, pkgs...)...); err != nil {
		return nil, fmt.Errorf("building the peers: %w", err)
	}
	if _, err := exec.LookPath("node"); err == nil {
		if _, err := os.Stat("node_modules/ws/package.json"); err == nil {
			b.node, _ = filepath.Abs("cmd/peer-node/peer.js")
		}
	}
	return b, nil
}

// proc is a child process with its stdout read line by line.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  chan string // stdout lines; closed at EOF
	in   io.WriteCloser
}

func startProc(name string, stdin bool, argv ...string) (*proc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	// The children end with this process, whatever happens to it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &proc{name: name, cmd: cmd, out: make(chan string, 64)}
	if stdin {
		in, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		p.in = in
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(outp)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			p.out <- sc.Text()
		}
		close(p.out)
	}()
	return p, nil
}

// line returns the next stdout line, or an error after timeout or at EOF.
func (p *proc) line(timeout time.Duration) (string, error) {
	select {
	case l, ok := <-p.out:
		if !ok {
			return "", fmt.Errorf("%s ended", p.name)
		}
		return l, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("%s: no answer in %v", p.name, timeout)
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop ends the process: SIGTERM, then SIGKILL after 3 s.
func (p *proc) stop() {
	if p.in != nil {
		p.in.Close()
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// server is a server process: a WebSocket (or HTTP) address and a debug
// address.
type server struct {
	*proc
	row   string // the name in the tables
	addr  string // host:port
	debug string // host:port, "" if none
	path  string // the path its clients open
	mode  string // loadgen dial mode: ws-drain or sse-drain for idle sets
}

var (
	listenRe = regexp.MustCompile(`(?:listening on ws://|open http://)([0-9.]+:[0-9]+)/`)
	debugRe  = regexp.MustCompile(`debug on http://([0-9.]+:[0-9]+)/`)
)

// serverRows are the servers the rows can measure, by row name.
//
//	pushwire        the shipped `pushwire echo` (read limit 64 MiB, its default)
//	pushwire-peers  peers' in-process pushwire echo of the old method, as a process
//	gorilla … gws   peer-<name> serve
//	node            Node ws (reference row)
//	chat-ws         `pushwire serve`, WebSocket subscribers of /chat
//	chat-sse        `pushwire serve`, SSE subscribers of /chat
//	chat-ndjson     `pushwire serve`, NDJSON stream subscribers of /chat
//	chat-poll       `pushwire serve -poll-timeout 10m`, long polls of /chat waiting
func (b *bins) serverArgv(row string) (argv []string, path, mode string, err error) {
	listen := []string{"-addr", "127.0.0.1:0", "-debug-addr", "127.0.0.1:0"}
	switch row {
	case "pushwire":
		return append([]string{b.pushwire, "echo"}, listen...), "/", "ws-drain", nil
	case "pushwire-peers":
		return append([]string{b.peer["pushwire"], "serve"}, listen...), "/", "ws-drain", nil
	case "chat-ws":
		return append([]string{b.pushwire, "serve"}, listen...), "/chat", "ws-drain", nil
	case "chat-sse":
		return append([]string{b.pushwire, "serve"}, listen...), "/chat?transport=sse", "sse-drain", nil
	case "chat-ndjson":
		return append([]string{b.pushwire, "serve"}, listen...), "/chat?transport=stream", "ndjson-drain", nil
	case "chat-poll":
		// Every poll waits for the whole measurement: no publish comes
		// before the sample, and the polls time out only after
		// chatPollTimeout (serve's default of 20 s would answer them, and
		// the clients poll again on new connections, while it samples).
		argv := append([]string{b.pushwire, "serve", "-poll-timeout", chatPollTimeout.String()}, listen...)
		return argv, "/chat?transport=poll", "poll-drain", nil
	case "node":
		if b.node == "" {
			return nil, "", "", errors.New("node or peers/node_modules/ws missing (npm ci in peers/)")
		}
		return append([]string{"node", b.node, "serve"}, listen...), "/", "ws-drain", nil
	}
	if p, ok := b.peer[row]; ok {
		return append([]string{p, "serve"}, listen...), "/", "ws-drain", nil
	}
	return nil, "", "", fmt.Errorf("unknown server %q", row)
}

// chatPollTimeout is the poll timeout of the chat-poll row's server: longer
// than the row takes from the first connection to the sample (idleOnce
// checks it), so that every poll it counts is waiting.
const chatPollTimeout = 10 * time.Minute

// bcastArgv is the server of a broadcast row: the peer program (the
// shipped echo has no broadcast).
func (b *bins) bcastArgv(row string) ([]string, error) {
	if row == "pushwire" {
		row = "pushwire-peers"
	}
	argv, _, _, err := b.serverArgv(row)
	return argv, err
}

func startServer(row string, argv []string, path, mode string) (*server, error) {
	p, err := startProc(row, false, argv...)
	if err != nil {
		return nil, err
	}
	s := &server{proc: p, row: row, path: path, mode: mode}
	wantDebug := slices.Contains(argv, "-debug-addr")
	for s.addr == "" || wantDebug && s.debug == "" {
		l, err := p.line(20 * time.Second)
		if err != nil {
			p.stop()
			return nil, fmt.Errorf("starting %s: %w", row, err)
		}
		if m := listenRe.FindStringSubmatch(l); m != nil {
			s.addr = m[1]
		}
		if m := debugRe.FindStringSubmatch(l); m != nil {
			s.debug = m[1]
		}
	}
	// Drain the rest of stdout.
	go func() {
		for range p.out {
		}
	}()
	return s, nil
}

// debugClient holds no connection open between requests, so that the
// server's descriptors are its clients'.
var debugClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Minute}

func (s *server) get(path string) ([]byte, error) {
	resp, err := debugClient.Get("http://" + s.debug + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s %s", path, resp.Status, bytes.TrimSpace(b))
	}
	return b, err
}

func (s *server) post(path, body string) ([]byte, error) {
	resp, err := debugClient.Post("http://"+s.debug+path, "text/plain", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("POST %s: %s %s", path, resp.Status, bytes.TrimSpace(b))
	}
	return b, err
}

// runtimeStats are the server's figures from /debug/vars.
type runtimeStats struct {
	Goroutines *int // nil for Node
	Memstats   struct {
		HeapInuse, StackInuse, HeapIdle, HeapReleased, Sys, NumGC            uint64
		HeapSys, StackSys, MSpanSys, MCacheSys, BuckHashSys, GCSys, OtherSys uint64
	}
}

func (s *server) vars() (runtimeStats, error) {
	var v runtimeStats
	b, err := s.get("/debug/vars")
	if err != nil {
		return v, err
	}
	return v, json.Unmarshal(b, &v)
}

// forceGC runs two garbage collections in the server, through pprof's heap
// profile with gc=1, as the old method's runtime.GC() twice.
func (s *server) forceGC() error {
	for range 2 {
		if _, err := s.get("/debug/pprof/heap?gc=1"); err != nil {
			return err
		}
	}
	return nil
}

// procStatus reads a "Name:   N kB" field of /proc/PID/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			f := strings.Fields(v)
			n, err := strconv.ParseInt(f[0], 10, 64)
			if len(f) > 1 && f[1] == "kB" {
				n *= 1024
			}
			return n, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func rss(pid int) (int64, error) { return procStatus(pid, "VmRSS") }

// fdRoom returns the process's soft descriptor limit and how many it has
// open.
func fdRoom(pid int) (soft, open int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return 0, 0, err
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "Max open files"); ok {
			soft, err = strconv.Atoi(strings.Fields(rest)[0])
			if err != nil {
				return 0, 0, err
			}
		}
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return soft, len(ents), err
}

// worker is a loadgen worker process.
type worker struct {
	*proc
	mu sync.Mutex
}

func startWorker(b *bins, i int) (*worker, error) {
	p, err := startProc(fmt.Sprintf("loadgen-%d", i), true, b.loadgen, "worker")
	if err != nil {
		return nil, err
	}
	return &worker{proc: p}, nil
}

// ask sends one command and returns the fields of its "ok" answer.
func (w *worker) ask(timeout time.Duration, format string, a ...any) ([]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cmd := fmt.Sprintf(format, a...)
	if _, err := fmt.Fprintln(w.in, cmd); err != nil {
		return nil, err
	}
	l, err := w.line(timeout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	f := strings.Fields(l)
	if len(f) == 0 || f[0] != "ok" {
		return nil, fmt.Errorf("%s: %s", cmd, l)
	}
	return f[1:], nil
}

// all runs f for workers[0:n] at once and returns their first error.
func all(ws []*worker, f func(i int, w *worker) error) error {
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Go(func() { errs[i] = f(i, w) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ipPool hands out source addresses 127.0.0.2–254 in turn, so that no
// address carries more than about 4,000 connections at once and recently
// closed ones (TIME_WAIT) are not reused soon.
type ipPool struct {
	mu   sync.Mutex
	next int
}

const perIP = 4000

// take returns the first of n consecutive addresses (the last octet) for
// conns connections; they may wrap.
func (p *ipPool) take(conns int) (ip0, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n = max(1, (conns+perIP-1)/perIP)
	if p.next < 2 || p.next+n > 254 {
		p.next = 2
	}
	ip0 = p.next
	p.next += n
	return ip0, n
}

// dialSpread opens n connections to s over the first k workers as set id.
func dialSpread(ws []*worker, k int, ips *ipPool, s *server, id string, n int, mode string) error {
	k = min(k, n, len(ws))
	return all(ws[:k], func(i int, w *worker) error {
		ni := n / k
		if i < n%k {
			ni++
		}
		ip0, nips := ips.take(ni)
		_, err := w.ask(5*time.Minute, "dial %s %s %s %d %d %d %s", id, s.addr, s.path, ni, ip0, nips, mode)
		return err
	})
}

func closeSet(ws []*worker, id string) {
	all(ws, func(_ int, w *worker) error {
		w.ask(time.Minute, "close %s", id) // "no set" on workers without it
		return nil
	})
}

// setIDs makes set names unique within a run.
var setSeq int

func newSetID(prefix string) string {
	setSeq++
	return fmt.Sprintf("%s%d", prefix, setSeq)
}

// loadAvg returns /proc/loadavg's first three fields.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// cpuTime returns the CPU time pid's threads have run, from
// /proc/PID/task/*/schedstat (nanoseconds on a CPU).
func cpuTime(pid int) (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "schedstat"))
		if err != nil {
			continue // the thread ended
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			total += n
		}
	}
	return time.Duration(total), nil
}
