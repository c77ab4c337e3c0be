// Command loadgen is the neutral load generator of peers/RESULTS.md: raw
// TCP sockets, WebSocket handshakes written by hand and frames built with
// wsproto/frame (which only encodes bytes), no WebSocket library. cmd/results
// runs several loadgen processes at once (one process may hold at most
// 20,000 descriptors here) and spreads their source addresses over
// 127.0.0.x.
//
// Usage:
//
//	loadgen worker                 answer commands on stdin (below)
//	loadgen frames -size N         serve an endless stream of N-byte binary
//	                               frames to every WebSocket client, for the
//	                               client-read rows
//
// A worker keeps sets of connections, named by the driver, and answers each
// command line with one line, "ok ..." or "err ...":
//
//	dial SET ADDR PATH N IP0 NIPS MODE   open N connections to ADDR PATH from
//	                                      127.0.0.IP0 … IP0+NIPS-1; MODE ws
//	                                      (the command that follows reads),
//	                                      ws-drain or sse-drain (a goroutine
//	                                      per connection reads everything,
//	                                      answers pings, counts messages)
//	close SET                             close the connections
//	echo SET SIZE WINDOW WARM DUR BATCH   keep WINDOW frames of SIZE bytes in
//	                                      flight per connection for WARM+DUR
//	                                      ms; "ok N" replies during DUR.
//	                                      BATCH 1 writes every free slot of
//	                                      the window in one write(2)
//	count SET SIZE WINDOW TOTAL           send TOTAL messages in all, WINDOW
//	                                      in flight per connection, and wait
//	                                      for every reply; "ok NS"
//	lat SET SIZE COUNT WARM               round trips of one message at a
//	                                      time on the first connection;
//	                                      "ok NS NS …", one per round trip
//	mark SET                              remember each connection's count
//	wait SET TIMEOUT                      wait (ms) until every connection
//	                                      got a message after mark; "ok GOT
//	                                      LAST" (LAST: Unix ns of the last
//	                                      first arrival)
//	wake SET K SIZE                       send one message on K connections
//	                                      spread over a drained set, one at
//	                                      a time; "ok NS NS …", each the
//	                                      round trip
package main

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushwire/pushwire/wsproto/frame"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen worker | loadgen frames -size N")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "worker":
		worker(os.Stdin, os.Stdout)
	case "frames":
		fs := flag.NewFlagSet("frames", flag.ExitOnError)
		size := fs.Int("size", 16, "payload bytes per frame")
		addr := fs.String("addr", "127.0.0.1:0", "address to listen on")
		fs.Parse(os.Args[2:])
		if err := frameServer(*addr, *size); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "loadgen: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}

// rconn is one raw client connection.
type rconn struct {
	c   net.Conn
	br  *bufio.Reader
	wmu sync.Mutex // whole frames: pongs from the drain, messages from wake

	msgs   atomic.Int64 // data messages received (drain modes)
	base   atomic.Int64 // msgs at the last mark
	first  atomic.Int64 // Unix ns of the first message after the mark
	notify chan int64   // each message's arrival, when someone listens
}

func (rc *rconn) write(p []byte) error {
	rc.wmu.Lock()
	defer rc.wmu.Unlock()
	_, err := rc.c.Write(p)
	return err
}

// received is called by a drain for each data message.
func (rc *rconn) received() {
	now := time.Now().UnixNano()
	n := rc.msgs.Add(1)
	if n == rc.base.Load()+1 {
		rc.first.CompareAndSwap(0, now)
	}
	select {
	case rc.notify <- now:
	default:
	}
}

type set struct {
	conns []*rconn
	wg    sync.WaitGroup // drains
}

func worker(in io.Reader, out io.Writer) {
	sets := map[string]*set{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	w := bufio.NewWriter(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		reply, err := command(sets, f)
		if err != nil {
			reply = "err " + strings.ReplaceAll(err.Error(), "\n", " ")
		}
		fmt.Fprintln(w, reply)
		w.Flush()
	}
	for _, s := range sets {
		s.close()
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(fmt.Sprintf("loadgen: not a number: %q", s))
	}
	return n
}

func command(sets map[string]*set, f []string) (reply string, err error) {
	need := map[string]int{"dial": 8, "close": 2, "echo": 7, "count": 5, "lat": 5, "mark": 2, "wait": 3, "wake": 4}
	if n, ok := need[f[0]]; !ok || len(f) != n {
		return "", fmt.Errorf("bad command %q", strings.Join(f, " "))
	}
	if f[0] == "dial" {
		if _, ok := sets[f[1]]; ok {
			return "", fmt.Errorf("set %s exists", f[1])
		}
		s, err := dialSet(f[2], f[3], atoi(f[4]), atoi(f[5]), atoi(f[6]), f[7])
		if err != nil {
			return "", err
		}
		sets[f[1]] = s
		return fmt.Sprintf("ok %d", len(s.conns)), nil
	}
	s := sets[f[1]]
	if s == nil {
		return "", fmt.Errorf("no set %s", f[1])
	}
	switch f[0] {
	case "close":
		s.close()
		delete(sets, f[1])
		return "ok", nil
	case "echo":
		n, err := s.echo(atoi(f[2]), atoi(f[3]), time.Duration(atoi(f[4]))*time.Millisecond, time.Duration(atoi(f[5]))*time.Millisecond, f[6] == "1")
		return fmt.Sprintf("ok %d", n), err
	case "count":
		d, err := s.count(atoi(f[2]), atoi(f[3]), atoi(f[4]))
		return fmt.Sprintf("ok %d", d.Nanoseconds()), err
	case "lat":
		ds, err := s.latency(atoi(f[2]), atoi(f[3]), atoi(f[4]))
		return "ok " + joinNs(ds), err
	case "mark":
		for _, rc := range s.conns {
			rc.first.Store(0)
			rc.base.Store(rc.msgs.Load())
		}
		return "ok", nil
	case "wait":
		got, last := s.wait(time.Duration(atoi(f[2])) * time.Millisecond)
		return fmt.Sprintf("ok %d %d", got, last), nil
	case "wake":
		ds, err := s.wake(atoi(f[2]), atoi(f[3]))
		return "ok " + joinNs(ds), err
	}
	return "", errors.New("unreachable")
}

func joinNs(ds []time.Duration) string {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(d.Nanoseconds(), 10))
	}
	return b.String()
}

const handshakeKey = "dGhlIHNhbXBsZSBub25jZQ=="

// dial opens one connection from local to addr and does the opening
// handshake of mode by hand: a WebSocket upgrade, or an SSE GET.
func dial(local net.IP, addr, path, mode string) (*rconn, io.Reader, error) {
	d := net.Dialer{Timeout: 20 * time.Second, LocalAddr: &net.TCPAddr{IP: local}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	var req string
	if mode == "sse-drain" {
		req = "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
	} else {
		req = "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: " + handshakeKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	}
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, nil, err
	}
	br := bufio.NewReaderSize(c, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	want := http.StatusSwitchingProtocols
	if mode == "sse-drain" {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		c.Close()
		return nil, nil, fmt.Errorf("handshake: %s", resp.Status)
	}
	c.SetDeadline(time.Time{})
	return &rconn{c: c, br: br, notify: make(chan int64, 1)}, resp.Body, nil
}

func dialSet(addr, path string, n, ip0, nips int, mode string) (*set, error) {
	switch mode {
	case "ws", "ws-drain", "sse-drain":
	default:
		return nil, fmt.Errorf("unknown mode %q", mode)
	}
	s := &set{conns: make([]*rconn, n)}
	bodies := make([]io.Reader, n)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var first atomic.Value
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ip := net.IPv4(127, 0, 0, byte(ip0+i%nips))
			rc, body, err := dial(ip, addr, path, mode)
			if err != nil {
				first.CompareAndSwap(nil, fmt.Errorf("dial %d from %v: %w", i, ip, err))
				return
			}
			s.conns[i], bodies[i] = rc, body
		})
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		for _, rc := range s.conns {
			if rc != nil {
				rc.c.Close()
			}
		}
		return nil, err
	}
	for i, rc := range s.conns {
		switch mode {
		case "ws-drain":
			s.wg.Go(func() { rc.drainWS() })
		case "sse-drain":
			s.wg.Go(func() { rc.drainSSE(bodies[i]) })
		}
	}
	return s, nil
}

func (s *set) close() {
	for _, rc := range s.conns {
		rc.c.Close()
	}
	s.wg.Wait()
}

// clientKey masks every client frame (RFC 6455 §5.3). A fixed key is fine
// for a load generator: the servers cannot tell.
var clientKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// clientFrame is a masked client frame of opcode op carrying payload.
func clientFrame(op frame.Opcode, payload []byte) []byte {
	b := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: op, Masked: true, Mask: clientKey, Length: int64(len(payload))})
	p := bytes.Clone(payload)
	frame.Mask(clientKey, 0, p)
	return append(b, p...)
}

// binaryFrame is a masked binary frame of n bytes.
func binaryFrame(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i)
	}
	return clientFrame(frame.OpBinary, p)
}

// drainWS reads every frame: data messages are counted, pings answered,
// a close frame echoed.
func (rc *rconn) drainWS() {
	var scratch [frame.MaxHeaderSize]byte
	var ctl [125]byte
	for {
		h, err := frame.ReadHeader(rc.br, &scratch)
		if err != nil {
			return
		}
		if h.Opcode.IsControl() {
			if h.Length > 125 {
				return
			}
			p := ctl[:h.Length]
			if _, err := io.ReadFull(rc.br, p); err != nil {
				return
			}
			switch h.Opcode {
			case frame.OpPing:
				// RFC 6455 §5.5.2: answer with a pong of the same payload.
				if rc.write(clientFrame(frame.OpPong, p)) != nil {
					return
				}
			case frame.OpClose:
				rc.write(clientFrame(frame.OpClose, p))
				return
			}
			continue
		}
		if _, err := rc.br.Discard(int(h.Length)); err != nil {
			return
		}
		if h.Fin {
			rc.received()
		}
	}
}

// drainSSE reads an event stream and counts the events that carry data.
func (rc *rconn) drainSSE(body io.Reader) {
	br := bufio.NewReader(body)
	data := false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
		switch {
		case bytes.HasPrefix(line, []byte("data:")):
			data = true
		case len(bytes.TrimRight(line, "\r\n")) == 0:
			if data {
				rc.received()
			}
			data = false
		}
	}
}

// echo keeps window frames in flight on every connection of s for warm+dur
// and returns the replies received during dur.
func (s *set) echo(size, window int, warm, dur time.Duration, batch bool) (int64, error) {
	one := binaryFrame(size)
	buf := bytes.Repeat(one, window)
	var total atomic.Int64
	var stop atomic.Bool
	errc := make(chan error, 2*len(s.conns))
	var wg sync.WaitGroup
	for _, rc := range s.conns {
		rc.c.SetDeadline(time.Time{}) // a previous echo's stop
		credits := make(chan struct{}, window)
		for range window {
			credits <- struct{}{}
		}
		quit := make(chan struct{})
		wg.Go(func() {
			for {
				select {
				case <-credits:
				case <-quit:
					return
				}
				k := 1
			more:
				for batch && k < window {
					select {
					case <-credits:
						k++
					default:
						break more
					}
				}
				if _, err := rc.c.Write(buf[:k*len(one)]); err != nil {
					if !stop.Load() {
						errc <- err
					}
					return
				}
			}
		})
		wg.Go(func() {
			defer close(quit)
			var scratch [frame.MaxHeaderSize]byte
			for !stop.Load() {
				h, err := frame.ReadHeader(rc.br, &scratch)
				if err == nil {
					_, err = rc.br.Discard(int(h.Length))
				}
				if err != nil {
					if !stop.Load() {
						errc <- err
					}
					return
				}
				if h.Opcode.IsControl() || !h.Fin {
					continue
				}
				total.Add(1)
				credits <- struct{}{}
			}
		})
	}
	time.Sleep(warm)
	c0 := total.Load()
	time.Sleep(dur)
	n := total.Load() - c0
	stop.Store(true)
	// Unblock readers and writers; the set is closed afterwards.
	for _, rc := range s.conns {
		rc.c.SetDeadline(time.Now())
	}
	wg.Wait()
	close(errc)
	return n, <-errc
}

// count sends total messages spread over the connections of s, window in
// flight on each, and returns the time until the last reply.
func (s *set) count(size, window, total int) (time.Duration, error) {
	one := binaryFrame(size)
	per := total / len(s.conns)
	t0 := time.Now()
	var wg sync.WaitGroup
	errc := make(chan error, 2*len(s.conns))
	for _, rc := range s.conns {
		credits := make(chan struct{}, window)
		for range window {
			credits <- struct{}{}
		}
		wg.Go(func() {
			for range per {
				<-credits
				if _, err := rc.c.Write(one); err != nil {
					errc <- err
					return
				}
			}
		})
		wg.Go(func() {
			var scratch [frame.MaxHeaderSize]byte
			rc.c.SetReadDeadline(time.Now().Add(2 * time.Minute))
			for got := 0; got < per; {
				h, err := frame.ReadHeader(rc.br, &scratch)
				if err == nil {
					_, err = rc.br.Discard(int(h.Length))
				}
				if err != nil {
					errc <- err
					return
				}
				if h.Opcode.IsControl() || !h.Fin {
					continue
				}
				got++
				credits <- struct{}{}
			}
		})
	}
	wg.Wait()
	d := time.Since(t0)
	close(errc)
	return d, <-errc
}

// latency does warm+n round trips of one message at a time on the first
// connection and returns the last n.
func (s *set) latency(size, n, warm int) ([]time.Duration, error) {
	rc := s.conns[0]
	one := binaryFrame(size)
	var scratch [frame.MaxHeaderSize]byte
	out := make([]time.Duration, 0, n)
	rc.c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	for i := range warm + n {
		t0 := time.Now()
		if _, err := rc.c.Write(one); err != nil {
			return nil, err
		}
		for {
			h, err := frame.ReadHeader(rc.br, &scratch)
			if err == nil {
				_, err = rc.br.Discard(int(h.Length))
			}
			if err != nil {
				return nil, err
			}
			if !h.Opcode.IsControl() && h.Fin {
				break
			}
		}
		if i >= warm {
			out = append(out, time.Since(t0))
		}
	}
	return out, nil
}

// wait waits until every connection received a message after the mark, or
// timeout; it returns how many did and the latest first arrival.
func (s *set) wait(timeout time.Duration) (got int, last int64) {
	deadline := time.Now().Add(timeout)
	for {
		got, last = 0, 0
		for _, rc := range s.conns {
			if t := rc.first.Load(); t != 0 {
				got++
				last = max(last, t)
			}
		}
		if got == len(s.conns) || time.Now().After(deadline) {
			return got, last
		}
		time.Sleep(time.Millisecond)
	}
}

// wake sends one message on k connections spread over a drained set, one
// at a time, and returns each round trip.
func (s *set) wake(k, size int) ([]time.Duration, error) {
	one := binaryFrame(size)
	var out []time.Duration
	for i := range k {
		rc := s.conns[i*len(s.conns)/k]
		select {
		case <-rc.notify:
		default:
		}
		t0 := time.Now()
		if err := rc.write(one); err != nil {
			return out, err
		}
		select {
		case at := <-rc.notify:
			out = append(out, time.Duration(at-t0.UnixNano()))
		case <-time.After(10 * time.Second):
			return out, errors.New("wake: no reply in 10 s")
		}
	}
	return out, nil
}

// frameServer serves an endless stream of size-byte binary frames to every
// WebSocket client after a hand-made handshake, in writes of about 256 KiB.
func frameServer(addr string, size int) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("loadgen: listening on ws://%s/\n", ln.Addr())
	one := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpBinary, Length: int64(size)})
	one = append(one, make([]byte, size)...)
	batch := one
	for len(batch) < 256<<10 {
		batch = append(batch, one...)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			br := bufio.NewReader(c)
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			h := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
			fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
				base64.StdEncoding.EncodeToString(h[:]))
			go io.Copy(io.Discard, br) // the client's close frame, if any
			for {
				if _, err := c.Write(batch); err != nil {
					return
				}
			}
		}()
	}
}
