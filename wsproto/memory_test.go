package wsproto

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushwire/pushwire/wsproto/frame"
)

// maxHeldPerConn is what a connection may cost while a peer that announced
// a message of the read limit has sent one byte of it: the bound of every
// read path.
const maxHeldPerConn = 64 << 10

// readPath is one way of reading a message, as a server application does.
type readPath struct {
	name string
	read func(c *Conn) error
}

// readPaths are the ways to read: Read, the streaming Reader, and NetConn.
var readPaths = []readPath{
	{"Read", func(c *Conn) error {
		_, _, err := c.Read(context.Background(), nil)
		return err
	}},
	{"Reader", func(c *Conn) error {
		_, r, err := c.Reader(context.Background())
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, r)
		return err
	}},
	{"NetConn", func(c *Conn) error {
		_, err := io.Copy(io.Discard, NetConn(c, MessageBinary))
		return err
	}},
}

// waitListener counts the bytes each accepted connection reads, so that a
// test can wait until a server has read what a client sent and gone back
// for more: from then on it has done all it will do with those bytes.
type waitListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[string]*waitConn // by the client's address
}

type waitConn struct {
	net.Conn
	read    atomic.Int64
	want    atomic.Int64 // > 0: signal waiting once read >= want
	waiting chan struct{}
	once    sync.Once
}

func (l *waitListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	wc := &waitConn{Conn: nc, waiting: make(chan struct{})}
	l.mu.Lock()
	l.conns[nc.RemoteAddr().String()] = wc
	l.mu.Unlock()
	return wc, nil
}

func (c *waitConn) Read(p []byte) (int, error) {
	if w := c.want.Load(); w > 0 && c.read.Load() >= w {
		c.once.Do(func() { close(c.waiting) })
	}
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// conn returns the server side of the connection whose client is at addr.
func (l *waitListener) conn(t *testing.T, addr string) *waitConn {
	t.Helper()
	for range 200 {
		l.mu.Lock()
		wc := l.conns[addr]
		l.mu.Unlock()
		if wc != nil {
			return wc
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the server did not accept %s", addr)
	return nil
}

// announceOneByte opens a WebSocket over a raw socket and sends the header
// of a binary message of declared bytes (RSV1 set when compressed) and one
// byte of its payload. It returns when the server has read all of it and
// waits for more.
func announceOneByte(t *testing.T, l *waitListener, addr string, declared int64, compressed bool) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	req := request()
	if compressed {
		req = request("Sec-WebSocket-Extensions", "permessage-deflate; client_no_context_takeover")
	}
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReaderSize(nc, 512)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	if compressed && !strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		t.Fatalf("compression not agreed: %q", resp.Header.Get("Sec-WebSocket-Extensions"))
	}
	nc.SetReadDeadline(time.Time{})
	h := frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Length: declared}
	if compressed {
		h.Rsv = frame.Rsv1
	}
	// A single byte of a stored DEFLATE block header, when compressed, so
	// that the decompressor has started and waits for the rest.
	msg := append(frame.AppendHeader(nil, h), 0x00)
	wc := l.conn(t, nc.LocalAddr().String())
	wc.want.Store(int64(len(req) + len(msg)))
	if _, err := nc.Write(msg); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wc.waiting:
	case <-time.After(10 * time.Second):
		t.Fatalf("the server did not read the %d bytes sent", len(msg))
	}
	return nc
}

// heapInUse returns the bytes of heap objects and goroutine stacks in use
// after a collection.
func heapInUse() int64 {
	// Twice: what sync.Pools held at the first collection goes at the
	// second.
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc + ms.StackInuse)
}

// TestReadMemoryFollowsBytes: on every read path, with and without
// compression and without a limit, n connections each announcing a message
// of the read limit and sending one byte of it cost the process at most
// 64 KiB each (heap and stacks, client sockets included), not the limit.
func TestReadMemoryFollowsBytes(t *testing.T) {
	const n = 32
	const limit = 64 << 20
	for _, compressed := range []bool{false, true} {
		for _, p := range readPaths {
			for _, lim := range []int64{limit, -1} {
				name := p.name
				if compressed {
					name = "compressed " + name
				}
				declared := int64(limit)
				if lim < 0 {
					name += " no limit"
					declared = 1<<63 - 1
				}
				t.Run(name, func(t *testing.T) {
					perConn := measureAnnounced(t, n, &AcceptOptions{ReadLimit: lim, Compression: compressionIf(compressed)}, p, declared, compressed)
					t.Logf("%d bytes per connection", perConn)
					if perConn > maxHeldPerConn {
						t.Errorf("%s: %d connections announcing %d bytes and sending 1 hold %d bytes each, want at most %d", name, n, declared, perConn, maxHeldPerConn)
					}
				})
			}
		}
	}
}

func compressionIf(on bool) *CompressionOptions {
	if on {
		return &CompressionOptions{}
	}
	return nil
}

// measureAnnounced serves n connections that announce declared bytes and
// send one, reading them with p, and returns the memory held per
// connection once all of them wait for more.
func measureAnnounced(t *testing.T, n int, opts *AcceptOptions, p readPath, declared int64, compressed bool) int64 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wl := &waitListener{Listener: ln, conns: make(map[string]*waitConn)}
	var served sync.WaitGroup
	srv := httptest.NewUnstartedServer(Handler(opts, func(c *Conn, _ *http.Request) {
		served.Add(1)
		defer served.Done()
		p.read(c)
	}))
	srv.Listener = wl
	srv.Start()
	defer srv.Close()
	addr := ln.Addr().String()
	// One connection first, so that what is made once (pools, the
	// server's first goroutines) is not counted.
	first := announceOneByte(t, wl, addr, declared, compressed)
	defer first.Close()
	before := heapInUse()
	var clients []net.Conn
	for range n {
		clients = append(clients, announceOneByte(t, wl, addr, declared, compressed))
	}
	after := heapInUse()
	for _, c := range clients {
		c.Close()
	}
	first.Close()
	served.Wait()
	return (after - before) / int64(n)
}

// endConn is a net.Conn that reads a fixed input, in reads of at most
// step bytes when step > 0, and calls atEnd once when a read finds the input
// exhausted, before it returns io.EOF: the moment a real connection would
// wait for the peer.
type endConn struct {
	pipeConn
	step  int
	atEnd func()
}

func (c *endConn) Read(b []byte) (int, error) {
	if c.step > 0 && len(b) > c.step {
		b = b[:c.step]
	}
	n, err := c.pipeConn.Read(b)
	if n == 0 && err == io.EOF && c.atEnd != nil {
		c.atEnd()
		c.atEnd = nil
	}
	return n, err
}

// fuzzReadLimit is the read limit of compressed connections in
// FuzzReadMemory: what a message may inflate to.
const fuzzReadLimit = 8 << 10

// FuzzReadMemory reads a frame with an arbitrary header (any length up to
// 2^64-1, any opcode, flags and mask) followed by arbitrary bytes, usually
// far fewer than the header announces, on each read path with and without
// compression, and checks what the connection holds at the moment the input
// runs out, when a real connection would wait for more: at most 64 KiB plus
// twice the bytes received (plus, compressed, the read limit's worth of
// inflated output), whatever the header announced. Without compression
// there is no read limit, so the header is never refused for its length.
func FuzzReadMemory(f *testing.F) {
	f.Add(byte(0x82), uint64(64<<20), []byte{'x'})
	f.Add(byte(0x82), uint64(1<<63-1), []byte{'x'})
	f.Add(byte(0xc2), uint64(1<<63-1), []byte{0x00})
	f.Add(byte(0x81), uint64(3), []byte("abc\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xffxyz"))
	f.Add(byte(0x02), uint64(70000), bytes.Repeat([]byte{'a'}, 5000))
	f.Add(byte(0xc2), uint64(40), compressRaw(f, make([]byte, 1<<20), flate.BestCompression))
	f.Fuzz(func(t *testing.T, b0 byte, declared uint64, rest []byte) {
		h := frame.Header{Fin: b0&0x80 != 0, Rsv: b0 & 0x70, Opcode: frame.Opcode(b0 & 0x0f), Masked: true, Mask: [4]byte{1, 2, 3, 4}, Length: int64(declared)}
		in := append(frame.AppendHeader(nil, h), rest...)
		for _, compressed := range []bool{false, true} {
			for _, p := range readPaths[:2] {
				// Whole reads, or reads of a few bytes as a
				// trickling peer causes, chosen by the input.
				for _, step := range []int{int(declared%2) * 7} {
					var params *deflateParams
					limit := int64(-1)
					bound := int64(maxHeldPerConn + 2*len(in))
					if compressed {
						params = &deflateParams{readNoContext: true}
						limit = fuzzReadLimit
						bound += limit + limit/4
					}
					// What a first run makes once and for all
					// (lazily initialized state) is not the
					// connection's, and the heap is the process's,
					// so the fuzzing engine's own allocations can
					// inflate one measurement: a count over the
					// bound is taken again, the least of up to
					// four counts. Most inputs need one count (four
					// collections), which keeps fuzzing fast.
					held := int64(math.MaxInt64)
					for range 4 {
						got := int64(-1)
						base := heapInUse()
						c := newConn(&endConn{pipeConn: pipeConn{r: bytes.NewReader(in)}, step: step, atEnd: func() {
							got = heapInUse() - base
						}}, connConfig{readLimit: limit, closeTimeout: time.Second, deflate: params})
						for p.read(c) == nil {
						}
						runtime.KeepAlive(c)
						held = min(held, got)
						if held <= bound {
							break
						}
					}
					if held > bound {
						t.Fatalf("%s (compressed %v, reads of %d): the connection held %d bytes when %d bytes of input ran out, want at most %d", p.name, compressed, step, held, len(in), bound)
					}
				}
			}
		}
	})
}

// h2Raw is a minimal HTTP/2 client (RFC 9113) over one TLS connection, so
// that many streams cost the test's process next to nothing: it opens
// extended CONNECT streams (RFC 8441), sends DATA on them, acknowledges
// SETTINGS and PING, and discards what the server sends.
type h2Raw struct {
	tc   *tls.Conn
	wmu  sync.Mutex
	next uint32 // the next stream ID
	done chan struct{}
}

func dialH2Raw(t *testing.T, addr string, roots *x509.CertPool) *h2Raw {
	t.Helper()
	tc, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "example.com", NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN chose %q, want h2", p)
	}
	c := &h2Raw{tc: tc, next: 1, done: make(chan struct{})}
	// RFC 9113 §3.4: the client preface, then a SETTINGS frame.
	io.WriteString(tc, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	c.frame(0x4, 0, 0, nil)
	go c.readLoop()
	t.Cleanup(func() {
		tc.Close()
		<-c.done
	})
	return c
}

func (c *h2Raw) frame(typ, flags byte, stream uint32, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := []byte{byte(len(p) >> 16), byte(len(p) >> 8), byte(len(p)), typ, flags}
	b = binary.BigEndian.AppendUint32(b, stream)
	_, err := c.tc.Write(append(b, p...))
	return err
}

func (c *h2Raw) readLoop() {
	defer close(c.done)
	var hdr [9]byte
	for {
		if _, err := io.ReadFull(c.tc, hdr[:]); err != nil {
			return
		}
		n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		p := make([]byte, n)
		if _, err := io.ReadFull(c.tc, p); err != nil {
			return
		}
		switch typ, flags := hdr[3], hdr[4]; {
		case typ == 0x4 && flags&0x1 == 0: // SETTINGS: acknowledge
			c.frame(0x4, 0x1, 0, nil)
		case typ == 0x6 && flags&0x1 == 0: // PING: answer
			c.frame(0x6, 0x1, 0, p)
		}
	}
}

// hpackLiteral appends a header field as a literal without indexing, with
// a new name and no Huffman coding (RFC 7541 §6.2.2); short strings only.
func hpackLiteral(b []byte, name, value string) []byte {
	b = append(b, 0x00, byte(len(name)))
	b = append(b, name...)
	b = append(b, byte(len(value)))
	return append(b, value...)
}

// open starts a WebSocket stream (RFC 8441 §4) and returns its ID.
func (c *h2Raw) open(authority string) uint32 {
	id := c.next
	c.next += 2
	var h []byte
	for _, f := range [][2]string{{":method", "CONNECT"}, {":protocol", "websocket"}, {":scheme", "https"},
		{":path", "/"}, {":authority", authority}, {"sec-websocket-version", "13"}} {
		h = hpackLiteral(h, f[0], f[1])
	}
	c.frame(0x1, 0x4, id, h) // HEADERS, END_HEADERS
	return id
}

// countingBody reports when the handler reads its request body again after
// want bytes were read.
type countingBody struct {
	io.ReadCloser
	read    int64
	want    int64
	waiting chan struct{}
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.read >= b.want {
		select {
		case <-b.waiting:
		default:
			close(b.waiting)
		}
	}
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	return n, err
}

// TestH2ChildMemory is TestReadMemoryFollowsBytes over HTTP/2: n streams
// of one connection each announce a message of the read limit and send one
// byte of it, read on each read path, and cost at most 64 KiB each.
func TestH2ChildMemory(t *testing.T) {
	skipUnlessH2Child(t)
	for _, p := range readPaths {
		for _, lim := range []int64{64 << 20, -1} {
			t.Run(fmt.Sprintf("%s limit %d", p.name, lim), func(t *testing.T) { h2Memory(t, p, lim) })
		}
	}
}

func h2Memory(t *testing.T, p readPath, lim int64) {
	const n = 32
	const limit = 64 << 20
	declared := int64(limit)
	if lim < 0 {
		declared = 1<<63 - 1
	}
	msg := append(frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Length: declared}), 'x')
	waiting := make(chan chan struct{}, 1)
	var served sync.WaitGroup
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := &countingBody{ReadCloser: r.Body, want: int64(len(msg)), waiting: make(chan struct{})}
		r.Body = body
		c, err := Accept(w, r, &AcceptOptions{ReadLimit: lim, InsecureSkipOriginCheck: true})
		if err != nil {
			t.Errorf("Accept: %v", err)
			return
		}
		waiting <- body.waiting
		served.Add(1)
		go func() {
			defer served.Done()
			defer c.CloseNow()
			p.read(c)
		}()
		c.waitH2()
	}))
	s.EnableHTTP2 = true
	s.StartTLS()
	defer s.Close()
	roots := x509.NewCertPool()
	roots.AddCert(s.Certificate())
	rc := dialH2Raw(t, s.Listener.Addr().String(), roots)
	announce := func() {
		id := rc.open(s.Listener.Addr().String())
		var w chan struct{}
		select {
		case w = <-waiting:
		case <-time.After(10 * time.Second):
			t.Fatal("the server did not accept the stream")
		}
		rc.frame(0x0, 0, id, msg) // DATA
		select {
		case <-w:
		case <-time.After(10 * time.Second):
			t.Fatal("the server did not read the frame")
		}
	}
	announce() // made once: not counted
	before := heapInUse()
	for range n {
		announce()
	}
	perConn := (heapInUse() - before) / n
	t.Logf("%d bytes per stream", perConn)
	if perConn > maxHeldPerConn {
		t.Errorf("%d HTTP/2 streams announcing %d bytes and sending 1 hold %d bytes each, want at most %d", n, declared, perConn, maxHeldPerConn)
	}
	rc.tc.Close()
	s.CloseClientConnections()
	served.Wait()
}
