//go:build ignore

// memload measures what hostile WebSocket clients cost `pushwire echo` in
// memory. It builds the command, starts it as a separate process on a
// loopback port for each scenario, attacks it with raw sockets, and reports
// the server's resident memory from /proc (Linux only):
//
//   - declare: N connections each send one frame header declaring
//     limit-1 bytes and then a single payload byte, and stay open. Reported:
//     RSS growth with all of them waiting.
//   - unlimited: with -limit -1, one connection declares 2^63-1 bytes and
//     sends one byte. Reported: whether the server survived, RSS growth.
//   - bomb: K connections each send one permessage-deflate message of about
//     80 KB that inflates to 80 MiB, over the limit. Reported: the close
//     code each received and the server's peak RSS growth (VmHWM).
//   - idle: K connections each send one uncompressed message of the read
//     limit, read its echo back, and stay open without sending more.
//     Reported: the server's Go heap after a collection (from its
//     -debug-addr pprof endpoint) against the same figure before, and RSS.
//
// It is bounded: at most -conns connections, a few seconds per scenario.
//
//	go run scripts/memload.go                   # every scenario, defaults
//	go run scripts/memload.go -conns 64 -limit 67108864 -bombs 1,8
package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	conns := flag.Int("conns", 64, "connections of the declare scenario")
	limit := flag.Int64("limit", 64<<20, "the echo server's -limit, in bytes")
	bombs := flag.String("bombs", "1,8", "concurrent compression bombs, one run per value")
	idle := flag.Int("idle", 8, "connections of the idle scenario (0: skip it)")
	inflated := flag.Int("inflated", 80<<20, "bytes one bomb inflates to")
	settle := flag.Duration("settle", 2*time.Second, "wait before reading the server's memory")
	bin := flag.String("bin", "", "a pushwire binary to test (default: go build ./cmd/pushwire)")
	flag.Parse()

	if *bin == "" {
		dir, err := os.MkdirTemp("", "memload")
		check(err)
		defer os.RemoveAll(dir)
		*bin = filepath.Join(dir, "pushwire")
		out, err := exec.Command("go", "build", "-o", *bin, "./cmd/pushwire").CombinedOutput()
		if err != nil {
			fail("go build: %v\n%s", err, out)
		}
	}

	fmt.Printf("declare: %d connections, each declaring %d bytes and sending 1 (echo -limit %d)\n", *conns, *limit-1, *limit)
	declare(*bin, *limit, *conns, *limit-1, *settle)

	fmt.Printf("unlimited: 1 connection declaring %d bytes and sending 1 (echo -limit -1)\n", int64(1<<63-1))
	declare(*bin, -1, 1, 1<<63-1, *settle)

	bomb := makeBomb(*inflated)
	for _, s := range strings.Split(*bombs, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(s))
		check(err)
		fmt.Printf("bomb: %d connection(s), each one message of %d bytes inflating to %d (echo -limit %d)\n", k, len(bomb), *inflated, *limit)
		runBombs(*bin, *limit, k, bomb, *settle)
	}

	if *idle > 0 {
		fmt.Printf("idle: %d connections, each echoing one message of %d bytes and then waiting (echo -limit %d)\n", *idle, *limit, *limit)
		runIdle(*bin, *limit, *idle, *settle)
	}
}

// server is a running pushwire echo.
type server struct {
	cmd   *exec.Cmd
	addr  string
	debug string // the -debug-addr URL, when started with it
	exit  chan error

	mu      sync.Mutex
	gcLines int
	gcHeap  string // "A->B->C MB" of the last GC (GODEBUG=gctrace=1)
}

var gcHeapPattern = regexp.MustCompile(`(\d+->\d+->\d+ MB)`)

func startEcho(bin string, limit int64, extra ...string) *server {
	cmd := exec.Command(bin, append([]string{"echo", "-addr", "127.0.0.1:0", "-limit", strconv.FormatInt(limit, 10)}, extra...)...)
	stdout, err := cmd.StdoutPipe()
	check(err)
	cmd.Env = append(os.Environ(), "GODEBUG=gctrace=1")
	stderr, err := cmd.StderrPipe()
	check(err)
	check(cmd.Start())
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil {
		fail("echo did not start: %v", err)
	}
	// "pushwire echo: listening on ws://127.0.0.1:PORT/"
	i := strings.Index(line, "ws://")
	if i < 0 {
		fail("unexpected first line %q", line)
	}
	s := &server{cmd: cmd, addr: strings.TrimSuffix(strings.TrimSpace(line[i+len("ws://"):]), "/"), exit: make(chan error, 1)}
	if len(extra) > 0 && extra[0] == "-debug-addr" {
		// "pushwire echo: debug on http://127.0.0.1:PORT/"
		line, err := out.ReadString('\n')
		i := strings.Index(line, "http://")
		if err != nil || i < 0 {
			fail("no debug address: %q, %v", line, err)
		}
		s.debug = strings.TrimSpace(line[i:])
	}
	done := make(chan struct{})
	go func() {
		// The GC trace: the Go heap at the start of the last GC, what
		// was left after it, and what was found live.
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := gcHeapPattern.FindString(sc.Text()); m != "" {
				s.mu.Lock()
				s.gcLines++
				s.gcHeap = m
				s.mu.Unlock()
			} else if !strings.HasPrefix(sc.Text(), "gc ") {
				fmt.Fprintf(os.Stderr, "  server: %s\n", sc.Text())
			}
		}
		close(done)
	}()
	go func() {
		io.Copy(io.Discard, out)
		<-done
		s.exit <- cmd.Wait()
	}()
	return s
}

// lastGC returns the heap sizes of the server's last GC, "A->B->C MB".
func (s *server) lastGC() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gcLines == 0 {
		return "no GC ran (the heap stayed under 4 MB)"
	}
	return fmt.Sprintf("%s (GC #%d)", s.gcHeap, s.gcLines)
}

// alive reports whether the server process is still running.
func (s *server) alive() bool {
	select {
	case err := <-s.exit:
		s.exit <- err
		return false
	default:
		return true
	}
}

func (s *server) stop() {
	if s.alive() {
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exit:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.exit
		}
	}
}

// status returns VmRSS, VmHWM and VmSize of the server, in bytes.
func (s *server) status() (rss, hwm, vsz int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return -1, -1, -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			hwm = kb << 10
		case "VmSize:":
			vsz = kb << 10
		}
	}
	return rss, hwm, vsz
}

// handshake opens a WebSocket to addr over a raw socket, offering
// permessage-deflate when deflate is set.
func handshake(addr string, deflate bool) (net.Conn, *bufio.Reader) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	check(err)
	var key [16]byte
	rand.Read(key[:])
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key[:]) + "\r\nSec-WebSocket-Version: 13\r\n"
	if deflate {
		req += "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n"
	}
	req += "\r\n"
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = io.WriteString(nc, req)
	check(err)
	br := bufio.NewReader(nc)
	status, err := br.ReadString('\n')
	check(err)
	if !strings.Contains(status, " 101 ") {
		fail("handshake answered %q", status)
	}
	for {
		line, err := br.ReadString('\n')
		check(err)
		if line == "\r\n" {
			break
		}
	}
	nc.SetDeadline(time.Time{})
	return nc, br
}

// header returns a masked binary frame header declaring n payload bytes.
func header(n int64, rsv1 bool) []byte {
	b := []byte{0x82, 0x80 | 127}
	if rsv1 {
		b[0] |= 0x40
	}
	b = binary.BigEndian.AppendUint64(b, uint64(n))
	return append(b, 0, 0, 0, 0) // masking key 0: the payload goes as is
}

func declare(bin string, limit int64, conns int, declared int64, settle time.Duration) {
	var s *server
	if hasDebugAddr(bin) {
		s = startEcho(bin, limit, "-debug-addr", "127.0.0.1:0")
	} else {
		s = startEcho(bin, limit)
	}
	defer s.stop()
	time.Sleep(300 * time.Millisecond)
	rss0, _, vsz0 := s.status()
	heap0 := s.heapAfterGC()
	var open []net.Conn
	for range conns {
		nc, _ := handshake(s.addr, false)
		open = append(open, nc)
		_, err := nc.Write(append(header(declared, false), 'x'))
		check(err)
	}
	time.Sleep(settle)
	rss1, hwm, vsz1 := s.status()
	fmt.Printf("  server alive: %v\n", s.alive())
	if s.alive() {
		fmt.Printf("  RSS %s -> %s: growth %s (%s per connection); peak %s\n",
			mib(rss0), mib(rss1), mib(rss1-rss0), kib((rss1-rss0)/int64(conns)), mib(hwm))
		fmt.Printf("  virtual memory growth %s; last GC: %s\n", mib(vsz1-vsz0), s.lastGC())
		if heap0 >= 0 {
			heap1 := s.heapAfterGC()
			fmt.Printf("  Go heap after GC %s -> %s: growth %s (%s per connection)\n",
				mib(heap0), mib(heap1), mib(heap1-heap0), kib((heap1-heap0)/int64(conns)))
		}
	}
	for _, nc := range open {
		nc.Close()
	}
}

// makeBomb returns the payload of a compressed message that inflates to n
// zero bytes: DEFLATE at its best ratio, without the sync flush tail
// (RFC 7692 §7.2.1).
func makeBomb(n int) []byte {
	var out bytes.Buffer
	zw, _ := flate.NewWriter(&out, flate.BestCompression)
	zero := make([]byte, 1<<20)
	for left := n; left > 0; left -= len(zero) {
		zw.Write(zero[:min(left, len(zero))])
	}
	zw.Flush()
	return bytes.TrimSuffix(out.Bytes(), []byte{0, 0, 0xff, 0xff})
}

func runBombs(bin string, limit int64, k int, bomb []byte, settle time.Duration) {
	s := startEcho(bin, limit)
	defer s.stop()
	time.Sleep(300 * time.Millisecond)
	rss0, _, _ := s.status()
	type conn struct {
		nc net.Conn
		br *bufio.Reader
	}
	var cs []conn
	for range k {
		nc, br := handshake(s.addr, true)
		cs = append(cs, conn{nc, br})
	}
	frame := append(header(int64(len(bomb)), true), bomb...)
	for _, c := range cs {
		go c.nc.Write(frame)
	}
	codes := map[string]int{}
	for _, c := range cs {
		codes[closeCode(c.nc, c.br)]++
		c.nc.Close()
	}
	time.Sleep(settle)
	rss1, hwm, _ := s.status()
	fmt.Printf("  server alive: %v; answers: %v; last GC: %s\n", s.alive(), codes, s.lastGC())
	fmt.Printf("  RSS before %s, after %s; peak %s: peak growth %s\n", mib(rss0), mib(rss1), mib(hwm), mib(hwm-rss0))
}

// closeCode reads frames until a close frame and returns its code, or what
// ended the connection instead.
func closeCode(nc net.Conn, br *bufio.Reader) string {
	nc.SetReadDeadline(time.Now().Add(60 * time.Second))
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return "no close frame: " + err.Error()
		}
		n := int64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			io.ReadFull(br, b[:])
			n = int64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			io.ReadFull(br, b[:])
			n = int64(binary.BigEndian.Uint64(b[:]))
		}
		if h[0]&0x0f == 0x8 {
			p := make([]byte, n)
			io.ReadFull(br, p)
			if len(p) < 2 {
				return "close without code"
			}
			return strconv.Itoa(int(binary.BigEndian.Uint16(p)))
		}
		if _, err := io.CopyN(io.Discard, br, n); err != nil {
			return "no close frame: " + err.Error()
		}
	}
}

// hasDebugAddr reports whether bin's echo takes -debug-addr (older builds
// do not).
func hasDebugAddr(bin string) bool {
	out, _ := exec.Command(bin, "echo", "-h").CombinedOutput()
	return bytes.Contains(out, []byte("-debug-addr"))
}

// heapAfterGC returns the server's Go heap in use (HeapAlloc) after a
// collection, from the pprof heap profile of its debug address, or -1
// when it was started without one.
func (s *server) heapAfterGC() int64 {
	if s.debug == "" {
		return -1
	}
	resp, err := http.Get(s.debug + "debug/pprof/heap?gc=1&debug=1")
	check(err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# HeapAlloc = "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			check(err)
			return n
		}
	}
	fail("no HeapAlloc in the heap profile: %v", sc.Err())
	return 0
}

// runIdle opens k connections that each send one message of size bytes,
// read the echo and then stay idle, and reports what the server keeps.
func runIdle(bin string, size int64, k int, settle time.Duration) {
	s := startEcho(bin, size, "-debug-addr", "127.0.0.1:0")
	defer s.stop()
	time.Sleep(300 * time.Millisecond)
	rss0, _, _ := s.status()
	heap0 := s.heapAfterGC()
	payload := make([]byte, size)
	var wg sync.WaitGroup
	var open []net.Conn
	for range k {
		nc, br := handshake(s.addr, false)
		open = append(open, nc)
		wg.Go(func() {
			go nc.Write(append(header(size, false), payload...))
			// The echo: one frame header of size bytes, then the payload.
			var h [10]byte
			_, err := io.ReadFull(br, h[:])
			check(err)
			if h[1] != 127 || int64(binary.BigEndian.Uint64(h[2:])) != size {
				fail("echo header % x, want a %d-byte frame", h, size)
			}
			_, err = io.CopyN(io.Discard, br, size)
			check(err)
		})
	}
	wg.Wait()
	_, hwm, _ := s.status()
	time.Sleep(settle)
	heap1 := s.heapAfterGC()
	rss1, _, _ := s.status()
	fmt.Printf("  server alive: %v; peak RSS %s while echoing\n", s.alive(), mib(hwm))
	fmt.Printf("  idle: Go heap after GC %s -> %s: %s per connection; RSS %s -> %s\n",
		mib(heap0), mib(heap1), kib((heap1-heap0)/int64(k)), mib(rss0), mib(rss1))
	for _, nc := range open {
		nc.Close()
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
func kib(n int64) string { return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10)) }

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "memload: "+format+"\n", args...)
	os.Exit(1)
}
