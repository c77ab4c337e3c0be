package conformance

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushwire/pushwire/handshake"
)

// A scripted peer for FuzzHarness: a WebSocket server (for the server
// role) or client (for the client role) whose every move comes from the
// fuzzer's bytes: its opening handshake, raw bytes, frames with any bits
// and lengths, echoes of what the harness sends, pauses, half closes,
// resets and closes, at any point.

// fuzzUnit is the time unit of the fuzzed runs: Autobahn's timers scaled
// down so that an iteration takes milliseconds, not seconds.
const fuzzUnit = 5 * time.Millisecond

// script reads the fuzzer's bytes; past the end it reads zeros.
type script struct {
	b []byte
}

func (s *script) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *script) bytes(n int) []byte {
	n = min(n, len(s.b))
	out := s.b[:n]
	s.b = s.b[n:]
	return out
}

func (s *script) done() bool { return len(s.b) == 0 }

// extension answers and offers the scripted peer may send.
var fuzzExtensions = []string{
	"",
	"permessage-deflate",
	"permessage-deflate; client_no_context_takeover",
	"permessage-deflate; server_no_context_takeover; client_max_window_bits=8",
	"permessage-deflate; server_max_window_bits=9",
	"permessage-deflate; client_max_window_bits=15",
	"permessage-deflate, permessage-deflate",
	"permessage-deflate; bogus=1",
	"x-unknown-extension",
	"permessage-deflate; client_max_window_bits",
}

// peer is the scripted peer on one connection.
type peer struct {
	sc       *script
	conn     net.Conn
	br       *bufio.Reader
	isClient bool // the peer is a client: it masks its frames

	wmu     sync.Mutex
	echoes  int // frames still to echo
	echoMu  sync.Mutex
	readEnd chan struct{}
}

func (p *peer) write(b []byte) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.conn.SetWriteDeadline(time.Now().Add(200 * fuzzUnit))
	p.conn.Write(b)
}

// reader drains what the harness sends and echoes frames while the script
// asked for echoes.
func (p *peer) reader() {
	defer close(p.readEnd)
	var hb [maxHeader]byte
	for {
		p.conn.SetReadDeadline(time.Now().Add(2000 * fuzzUnit))
		if _, err := io.ReadFull(p.br, hb[:2]); err != nil {
			return
		}
		n := headerSize(hb[:2])
		if _, err := io.ReadFull(p.br, hb[2:n]); err != nil {
			return
		}
		h, err := parseHeader(hb[:n])
		if err != nil {
			return
		}
		p.echoMu.Lock()
		echo := p.echoes > 0 && h.Length <= 1<<20
		if echo {
			p.echoes--
		}
		p.echoMu.Unlock()
		if !echo {
			if _, err := io.CopyN(io.Discard, p.br, h.Length); err != nil {
				return
			}
			continue
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(p.br, payload); err != nil {
			return
		}
		if h.Masked {
			maskAt(h.Mask, 0, payload)
		}
		f := frameSpec{op: h.Opcode, fin: h.Fin, rsv: h.Rsv >> 4, payload: payload}
		p.write(appendFrame(nil, &f, p.isClient, newRNG()))
	}
}

// run plays the rest of the script, then closes.
func (p *peer) run() {
	p.readEnd = make(chan struct{})
	go p.reader()
	defer func() {
		p.conn.Close()
		<-p.readEnd
	}()
	for !p.sc.done() {
		// Once the harness has closed the connection (or the reader's
		// deadline passed) the rest of the script has no one to play to:
		// a script of pauses alone would otherwise hold the iteration for
		// minutes, which is the peer's time, not the harness's.
		select {
		case <-p.readEnd:
			return
		default:
		}
		switch op := p.sc.byte(); op % 10 {
		case 0: // raw bytes
			p.write(p.sc.bytes(int(p.sc.byte())))
		case 1, 2: // a frame with any header bits and length encoding
			b0, sel := p.sc.byte(), p.sc.byte()
			payload := p.sc.bytes(int(p.sc.byte()))
			p.write(fuzzFrame(b0, sel, payload, p.isClient))
		case 3: // a pause
			select {
			case <-p.readEnd:
			case <-time.After(time.Duration(p.sc.byte()%32) * fuzzUnit):
			}
		case 4: // echo the next frames the harness sends
			p.echoMu.Lock()
			p.echoes += int(p.sc.byte()%16) + 1
			p.echoMu.Unlock()
		case 5: // a close frame with a code and reason
			code := int(p.sc.byte())<<8 | int(p.sc.byte())
			reason := p.sc.bytes(int(p.sc.byte() % 130))
			f := frameSpec{op: opClose, fin: true, payload: append(closeCode(code, ""), reason...)}
			p.write(appendFrame(nil, &f, p.isClient, newRNG()))
		case 6: // half close
			if tc, ok := p.conn.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
		case 7: // reset
			if tc, ok := p.conn.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			return
		case 8: // close
			return
		case 9: // wait for the harness to close, a while
			select {
			case <-p.readEnd:
			case <-time.After(time.Duration(p.sc.byte()%64) * fuzzUnit):
			}
		}
	}
	// Linger a little so that the harness's close can be answered by echo.
	select {
	case <-p.readEnd:
	case <-time.After(20 * fuzzUnit):
	}
}

// fuzzFrame builds a frame from a raw first byte, a selector for the
// masking and length encoding, and a payload.
func fuzzFrame(b0, sel byte, payload []byte, masked bool) []byte {
	if sel&1 != 0 {
		masked = !masked
	}
	b := []byte{b0, 0}
	if masked {
		b[1] = 0x80
	}
	n := uint64(len(payload))
	switch (sel >> 1) % 5 {
	case 0: // minimal
		switch {
		case n <= 125:
			b[1] |= byte(n)
		default:
			b[1] |= 126
			b = binary.BigEndian.AppendUint16(b, uint16(n))
		}
	case 1: // 16-bit, perhaps not minimal
		b[1] |= 126
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	case 2: // 64-bit
		b[1] |= 127
		b = binary.BigEndian.AppendUint64(b, n)
	case 3: // a length claiming more than follows
		b[1] |= 127
		b = binary.BigEndian.AppendUint64(b, n+uint64(sel)<<uint(sel%40))
	case 4: // the most significant bit set
		b[1] |= 127
		b = binary.BigEndian.AppendUint64(b, n|1<<63)
	}
	var key [4]byte
	if masked {
		key = [4]byte{sel, b0, 0x5a, 0xa5}
		b = append(b, key[:]...)
	}
	start := len(b)
	b = append(b, payload...)
	if masked {
		maskAt(key, 0, b[start:])
	}
	return b
}

// serveScripted answers the harness's connections as the scripted server.
func serveScripted(ln net.Listener, sc *script) {
	var wg sync.WaitGroup
	defer wg.Wait()
	var mu sync.Mutex // one script, played by the connections in turn
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			br := bufio.NewReader(conn)
			conn.SetDeadline(time.Now().Add(200 * fuzzUnit))
			req, err := http.ReadRequest(br)
			if err != nil {
				conn.Close()
				return
			}
			req.Body.Close()
			conn.SetDeadline(time.Time{})
			mode := sc.byte()
			ext := fuzzExtensions[int(sc.byte())%len(fuzzExtensions)]
			switch mode % 8 {
			case 0, 1, 2, 3: // a good 101
				conn.Write(handshake.AppendResponse(nil, req.Header.Get("Sec-WebSocket-Key"), "", ext, nil))
			case 4: // a 101 with a wrong accept key
				conn.Write(handshake.AppendResponse(nil, handshake.NewKey(), "", ext, nil))
			case 5: // a refusal
				fmt.Fprintf(conn, "HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nno\n")
			case 6: // garbage
				conn.Write(sc.bytes(int(sc.byte())))
			case 7: // nothing
				conn.Close()
				return
			}
			p := &peer{sc: sc, conn: conn, br: br}
			p.run()
		}()
	}
}

// fuzzCases lists the cases a role's fuzzing picks from: all but those that
// write a megabyte in 64-byte chops (9.5.x, 9.6.x), too slow to fuzz, whose
// handling of the peer is 9.1's, and the HTTP/2 handshake cases (15.6.x):
// the scripted peer speaks HTTP/1.1.
func fuzzCases(r role) []*wsCase {
	var out []*wsCase
	for _, c := range catalogue(r) {
		if !strings.HasPrefix(c.id, "9.5.") && !strings.HasPrefix(c.id, "9.6.") && c.transport != transportH2 {
			out = append(out, c)
		}
	}
	return out
}

var (
	serverCasesOnce sync.Once
	serverCases     []*wsCase
	clientCases     []*wsCase
)

// FuzzHarness drives the harness in both roles against a scripted peer
// that does anything a network peer can. Whatever it does, the harness
// must not panic (a recovered panic shows as "the harness failed"), must
// grade the case, must end within its timers, and must leave no
// goroutine behind.
func FuzzHarness(f *testing.F) {
	// Seeds: a correct echo server, the crash class (RSV1 without an
	// agreed extension), a reset mid-frame, garbage handshakes, a client
	// that echoes, a client that half-closes.
	f.Add([]byte{0, 0, 0, 4, 15, 9, 60})                                                // server role, 1.1.1, echo
	f.Add([]byte{0, 5, 0, 0, 0, 1, 0xc1, 0, 5, 'h', 'e', 'l', 'l', 'o', 9, 20})         // RSV1 text frame, uncompressed
	f.Add([]byte{0, 200, 1, 0, 1, 2, 0x82, 6, 10, 1, 2, 3, 7})                          // 64-bit length claiming more, then reset
	f.Add([]byte{0, 20, 0, 6, 1, 10, 'H', 'T', 'T', 'P', '/', '1', '.', '1', ' ', '2'}) // garbage handshake
	f.Add([]byte{1, 3, 0, 0, 4, 15, 9, 60})                                             // client role, echo
	f.Add([]byte{1, 40, 0, 1, 6, 5, 0x03, 0xe8, 0, 9, 20})                              // client role, half close, close frame
	f.Add([]byte{0, 250, 1, 1, 4, 3, 9, 63})                                            // a compression case, echoing
	// The fuzzing engine gives each input 10 s: make the compression cases'
	// test files before, not in the first input.
	if _, err := loadTestData(""); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		serverCasesOnce.Do(func() {
			serverCases, clientCases = fuzzCases(roleServer), fuzzCases(roleClient)
		})
		sc := &script{b: data}
		clientRole := sc.byte()&1 != 0
		pick := int(binary.BigEndian.Uint16([]byte{sc.byte(), sc.byte()}))
		var c *wsCase
		if clientRole {
			c = clientCases[pick%len(clientCases)]
		} else {
			c = serverCases[pick%len(serverCases)]
		}
		before := runtime.NumGoroutine()
		start := time.Now()
		var res *Result
		if clientRole {
			res = fuzzClientRole(t, c, sc)
		} else {
			res = fuzzServerRole(t, c, sc)
		}
		took := time.Since(start)
		if res == nil {
			t.Fatalf("case %s: no result", c.id)
		}
		if res.ID != c.id || res.Behavior < OK || res.Behavior > Failed || res.BehaviorClose < OK || res.BehaviorClose > Failed {
			t.Fatalf("case %s: result %s %v/%v is not a grade of the case", c.id, res.ID, res.Behavior, res.BehaviorClose)
		}
		if strings.Contains(res.BehaviorReason, "the harness failed") {
			t.Fatalf("case %s: the harness panicked: %s", c.id, res.BehaviorReason)
		}
		// The longest timer of a fuzzed case is 480 units (12.x, 13.x);
		// the scripted peer plays for at most a few hundred units more. The
		// fuzzing engine itself gives an input 10 s.
		if limit := 1000*fuzzUnit + 3*time.Second; took > limit {
			t.Fatalf("case %s took %v, more than %v", c.id, took, limit)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > 1<<30 {
			t.Fatalf("case %s: %d MiB of heap in use after the case", c.id, ms.HeapInuse>>20)
		}
		for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("case %s left %d goroutines behind:\n%s", c.id, runtime.NumGoroutine()-before, buf[:runtime.Stack(buf, true)])
			}
		}
	})
}

// fuzzServerRole runs case c against the scripted server.
func fuzzServerRole(t *testing.T, c *wsCase, sc *script) *Result {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		serveScripted(ln, sc)
	}()
	rep, err := RunServer(context.Background(), &Options{URL: "ws://" + ln.Addr().String() + "/", Cases: []string{c.id}, Timeout: fuzzUnit, ReadLimit: 1 << 16})
	ln.Close()
	<-done
	if err != nil {
		t.Fatalf("RunServer(%s) = %v", c.id, err)
	}
	if len(rep.Results) != 1 {
		t.Fatalf("RunServer(%s): %d results, want 1", c.id, len(rep.Results))
	}
	return rep.Results[0]
}

// fuzzClientRole lets the scripted client run case c on a FuzzingServer.
func fuzzClientRole(t *testing.T, c *wsCase, sc *script) *Result {
	fs, err := NewFuzzingServer(&Options{Cases: []string{c.id}, Timeout: fuzzUnit, ReadLimit: 1 << 16})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	key := handshake.NewKey()
	ext := fuzzExtensions[int(sc.byte())%len(fuzzExtensions)]
	req := "GET /runCase?case=1&agent=fuzz HTTP/1.1\r\nHost: " + srv.Listener.Addr().String() +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n"
	if ext != "" {
		req += "Sec-WebSocket-Extensions: " + ext + "\r\n"
	}
	conn.Write([]byte(req + "\r\n"))
	br := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // a loaded machine
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		t.Fatalf("the fuzzing server refused a valid handshake: %v %v", resp, err)
	}
	conn.SetReadDeadline(time.Time{})
	p := &peer{sc: sc, conn: conn, br: br, isClient: true}
	p.run()
	rep := fs.Report("fuzz")
	if rep == nil || len(rep.Results) != 1 {
		t.Fatalf("the fuzzing server has no result for case %s", c.id)
	}
	return rep.Results[0]
}

func newRNG() *rand.Rand { return rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7)) }
