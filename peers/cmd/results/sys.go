package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// The system calls counted one by one; the rest are "other".
var sysGroups = []struct {
	name  string
	calls []string
}{
	{"read", []string{"read", "readv", "recvfrom", "recvmsg"}},
	{"write", []string{"write", "writev", "sendto", "sendmsg"}},
	{"epoll", []string{"epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_ctl"}},
	{"futex", []string{"futex"}},
	{"nanosleep", []string{"nanosleep", "clock_nanosleep", "sched_yield"}},
}

// sysCounter counts a process's system calls while a function runs:
// perf's syscall tracepoints where they work, else strace -c -f.
type sysCounter struct {
	tool   string // "perf" or "strace"; "" if neither works
	events []string
}

func newSysCounter() *sysCounter {
	sc := &sysCounter{}
	if exec.Command("perf", "stat", "-e", "raw_syscalls:sys_enter", "--", "true").Run() == nil {
		sc.tool = "perf"
		sc.events = []string{"raw_syscalls:sys_enter"}
		for _, g := range sysGroups {
			for _, c := range g.calls {
				if _, err := os.Stat("/sys/kernel/tracing/events/syscalls/sys_enter_" + c); err == nil {
					sc.events = append(sc.events, "syscalls:sys_enter_"+c)
				}
			}
		}
		return sc
	}
	if exec.Command("strace", "-c", "-o", "/dev/null", "true").Run() == nil {
		sc.tool = "strace"
	}
	return sc
}

// count returns the system calls of pid, by name and "total", made while
// f runs.
func (sc *sysCounter) count(pid int, rawFile string, f func() error) (map[string]float64, error) {
	var cmd *exec.Cmd
	switch sc.tool {
	case "perf":
		cmd = exec.Command("perf", "stat", "-x", ",", "-o", rawFile, "-e", strings.Join(sc.events, ","), "-p", strconv.Itoa(pid))
	case "strace":
		cmd = exec.Command("strace", "-c", "-f", "-o", rawFile, "-p", strconv.Itoa(pid))
	default:
		return nil, fmt.Errorf("neither perf nor strace works here")
	}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	time.Sleep(500 * time.Millisecond) // attached to every thread
	ferr := f()
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if ferr != nil {
		return nil, ferr
	}
	b, err := os.ReadFile(rawFile)
	if err != nil {
		return nil, err
	}
	if sc.tool == "perf" {
		return parsePerf(b)
	}
	return parseStrace(b)
}

// parsePerf reads perf stat -x , output: "count,unit,event,...".
func parsePerf(b []byte) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ",")
		if len(f) < 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue // <not counted>
		}
		switch ev := f[2]; {
		case ev == "raw_syscalls:sys_enter":
			out["total"] = v
		case strings.HasPrefix(ev, "syscalls:sys_enter_"):
			out[strings.TrimPrefix(ev, "syscalls:sys_enter_")] = v
		}
	}
	if _, ok := out["total"]; !ok {
		return nil, fmt.Errorf("perf counted nothing: %q", b)
	}
	return out, nil
}

// parseStrace reads the table of strace -c: "% time seconds usecs/call
// calls [errors] syscall".
func parseStrace(b []byte) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		calls, err := strconv.ParseFloat(f[3], 64)
		if err != nil {
			continue
		}
		out[f[len(f)-1]] = calls
	}
	if _, ok := out["total"]; !ok {
		return nil, fmt.Errorf("strace counted nothing: %q", b)
	}
	return out, nil
}

// sysResult is the system calls per message of one server on one row.
type sysResult struct {
	Server, Row string
	Msgs        int
	Calls       map[string]float64
	Err         string
}

func (x *sysResult) per(group string) float64 {
	if group == "total" {
		return x.Calls["total"] / float64(x.Msgs)
	}
	sum := 0.0
	if group == "other" {
		sum = x.Calls["total"]
		for _, g := range sysGroups {
			for _, c := range g.calls {
				sum -= x.Calls[c]
			}
		}
		return sum / float64(x.Msgs)
	}
	for _, g := range sysGroups {
		if g.name == group {
			for _, c := range g.calls {
				sum += x.Calls[c]
			}
		}
	}
	return sum / float64(x.Msgs)
}

// sysRows counts the server's system calls for a fixed number of echoed
// messages on each echo row.
func (r *run) sysRows(srvs map[string]*server, names []string, sc *sysCounter) []*sysResult {
	var out []*sysResult
	for _, spec := range echoSpecs() {
		total := map[int]int{16: 100_000, 1 << 10: 100_000, 64 << 10: 10_000}[spec.size]
		if *quick {
			total /= 10
		}
		for _, name := range names {
			s := srvs[name]
			x := &sysResult{Server: name, Row: spec.title(), Msgs: total}
			id := newSetID("s")
			k := min(spec.conns, *genProcs)
			err := dialSpread(r.workers, k, &r.ips, s, id, spec.conns, "ws")
			if err == nil {
				raw := filepath.Join(r.raw, fmt.Sprintf("syscalls-%s-%s-%dc.txt", name, sizeName(spec.size), spec.conns))
				x.Calls, err = sc.count(s.pid(), raw, func() error {
					return all(r.workers[:k], func(i int, w *worker) error {
						_, err := w.ask(5*time.Minute, "count %s %d %d %d", id, spec.size, spec.window, total/k)
						return err
					})
				})
			}
			closeSet(r.workers, id)
			if err != nil {
				x.Err = err.Error()
				logf("syscalls %s %s: %v", name, spec.title(), err)
			} else {
				logf("syscalls %s %s: %.2f per message (read %.2f, write %.2f, epoll %.2f, futex %.2f)", name, spec.title(),
					x.per("total"), x.per("read"), x.per("write"), x.per("epoll"), x.per("futex"))
			}
			out = append(out, x)
		}
	}
	return out
}

// profile is one CPU profile taken for the notes.
type profile struct {
	Row, Server, File, Top string
}

// pprofTop runs go tool pprof -top on a profile and returns its text.
func pprofTop(bin, file string, cum bool) string {
	args := []string{"tool", "pprof", "-top", "-nodecount=30"}
	if cum {
		args = append(args, "-cum")
	}
	args = append(args, bin, file)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("pprof: %v\n%s", err, out)
	}
	return string(out)
}

// profileEcho takes a CPU profile of server s while the echo load of spec
// runs for d.
func (r *run) profileEcho(s *server, bin string, spec echoSpec, d time.Duration) (*profile, error) {
	id := newSetID("p")
	defer closeSet(r.workers, id)
	k := min(spec.conns, *genProcs)
	if err := dialSpread(r.workers, k, &r.ips, s, id, spec.conns, "ws"); err != nil {
		return nil, err
	}
	type res struct {
		b   []byte
		err error
	}
	ch := make(chan res, 1)
	go func() {
		b, err := s.get(fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(d.Seconds())))
		ch <- res{b, err}
	}()
	var echoed atomic.Int64
	err := all(r.workers[:k], func(i int, w *worker) error {
		f, err := w.ask(d+time.Minute, "echo %s %d %d 0 %d %d", id, spec.size, spec.window, (d + time.Second).Milliseconds(), b2i(*batch))
		if err == nil {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			echoed.Add(n)
		}
		return err
	})
	pr := <-ch
	if err != nil {
		return nil, err
	}
	if pr.err != nil {
		return nil, pr.err
	}
	file := filepath.Join(r.raw, fmt.Sprintf("prof-%s-echo-%s-%dc.pb.gz", s.row, sizeName(spec.size), spec.conns))
	if err := os.WriteFile(file, pr.b, 0o644); err != nil {
		return nil, err
	}
	top := fmt.Sprintf("%d messages echoed while profiling\n\n", echoed.Load()) + pprofTop(bin, file, false) + "\n" + pprofTop(bin, file, true)
	os.WriteFile(strings.TrimSuffix(file, ".pb.gz")+".txt", []byte(top), 0o644)
	logf("profile %s %s: %d messages echoed in %v", s.row, spec.title(), echoed.Load(), d)
	return &profile{Row: spec.title(), Server: s.row, File: file, Top: top}, nil
}

// profileBcast takes a CPU profile of name's broadcast server while it
// broadcasts 1 KiB to n clients again and again for d.
func (r *run) profileBcast(name string, n int, d time.Duration) (*profile, error) {
	argv, err := r.bins.bcastArgv(name)
	if err != nil {
		return nil, err
	}
	s, err := startServer(name, argv, "/bc", "ws-drain")
	if err != nil {
		return nil, err
	}
	defer s.stop()
	id := newSetID("pb")
	defer closeSet(r.workers, id)
	if err := dialSpread(r.workers, len(r.workers), &r.ips, s, id, n, "ws-drain"); err != nil {
		return nil, err
	}
	time.Sleep(2 * time.Second) // every handler has joined the group
	type res struct {
		b   []byte
		err error
	}
	ch := make(chan res, 1)
	go func() {
		b, err := s.get(fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(d.Seconds())))
		ch <- res{b, err}
	}()
	count := 0
	for end := time.Now().Add(d); time.Now().Before(end); count++ {
		if _, err := s.post("/bench/broadcast?size=1024", ""); err != nil {
			return nil, err
		}
		time.Sleep(20 * time.Millisecond) // the clients read it
	}
	pr := <-ch
	if pr.err != nil {
		return nil, pr.err
	}
	file := filepath.Join(r.raw, fmt.Sprintf("prof-%s-broadcast.pb.gz", name))
	if err := os.WriteFile(file, pr.b, 0o644); err != nil {
		return nil, err
	}
	bin := argv[0]
	top := fmt.Sprintf("%d broadcasts to %d connections while profiling\n\n", count, n) + pprofTop(bin, file, false) + "\n" + pprofTop(bin, file, true)
	os.WriteFile(strings.TrimSuffix(file, ".pb.gz")+".txt", []byte(top), 0o644)
	return &profile{Row: "Broadcast", Server: name, File: file, Top: top}, nil
}

// profileRead takes a CPU profile of lib's read client.
func (r *run) profileRead(lib string, size, n int) (*profile, error) {
	fs, err := startServer("frames", []string{r.bins.loadgen, "frames", "-size", strconv.Itoa(size)}, "/", "")
	if err != nil {
		return nil, err
	}
	defer fs.stop()
	file := filepath.Join(r.raw, fmt.Sprintf("prof-%s-read-%s.pb.gz", lib, sizeName(size)))
	if _, _, err := r.readOnce(lib, fs.addr, n, file); err != nil {
		return nil, err
	}
	top := pprofTop(r.bins.peer[lib], file, false) + "\n" + pprofTop(r.bins.peer[lib], file, true)
	os.WriteFile(strings.TrimSuffix(file, ".pb.gz")+".txt", []byte(top), 0o644)
	return &profile{Row: fmt.Sprintf("Client read, %s", sizeName(size)), Server: lib, File: file, Top: top}, nil
}
