package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushwire/pushwire/wsproto/frame"
)

// Raw client connections: the hand-made handshakes, the frames, and the
// drains that count what the server sends.

// rconn is one raw client connection.
type rconn struct {
	mu sync.Mutex // c, when a poll-drain replaces it
	c  net.Conn
	// A poll-drain's dial parameters, and whether the set is closing.
	local      net.IP
	addr, path string
	closing    atomic.Bool
	br         *bufio.Reader
	wmu        sync.Mutex // whole frames: pongs from the drain, messages from wake

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
	switch mode {
	case "sse-drain":
		req = "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
	case "ndjson-drain", "poll-drain":
		req = "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\n\r\n"
	default:
		req = "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: " + handshakeKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	}
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, nil, err
	}
	if mode == "poll-drain" {
		// The answer comes when the poll ends: the drain reads it.
		c.SetDeadline(time.Time{})
		return &rconn{c: c, br: bufio.NewReaderSize(c, 4<<10), notify: make(chan int64, 1), local: local, addr: addr, path: path}, nil, nil
	}
	br := bufio.NewReaderSize(c, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	want := http.StatusSwitchingProtocols
	if mode == "sse-drain" || mode == "ndjson-drain" {
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
	case "ws", "ws-drain", "sse-drain", "ndjson-drain", "poll-drain":
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
		case "ndjson-drain":
			s.wg.Go(func() { rc.drainNDJSON(bodies[i]) })
		case "poll-drain":
			s.wg.Go(func() { rc.drainPoll() })
		}
	}
	return s, nil
}

func (s *set) close() {
	for _, rc := range s.conns {
		rc.closing.Store(true)
		rc.mu.Lock()
		rc.c.Close()
		rc.mu.Unlock()
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

// drainNDJSON reads a newline-delimited JSON stream and counts the entry
// records.
func (rc *rconn) drainNDJSON(body io.Reader) {
	br := bufio.NewReader(body)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
		if bytes.HasPrefix(line, []byte(`{"seq":`)) {
			rc.received()
		}
	}
}

// drainPoll reads the answer to the connection's long poll, counts it if
// it carries entries, and polls again from the answer's cursor on a new
// connection (the server closes each after its answer), until the set
// closes.
func (rc *rconn) drainPoll() {
	for {
		resp, err := http.ReadResponse(rc.br, nil)
		if err != nil {
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return
		}
		if bytes.Contains(body, []byte(`{"seq":`)) {
			rc.received()
		}
		var ans struct{ Cursor string }
		if json.Unmarshal(body, &ans) != nil || rc.closing.Load() {
			return
		}
		path, _, _ := strings.Cut(rc.path, "&cursor=")
		d := net.Dialer{Timeout: 20 * time.Second, LocalAddr: &net.TCPAddr{IP: rc.local}}
		c, err := d.Dial("tcp", rc.addr)
		if err != nil {
			return
		}
		rc.path = path + "&cursor=" + url.QueryEscape(ans.Cursor)
		if _, err := io.WriteString(c, "GET "+rc.path+" HTTP/1.1\r\nHost: "+rc.addr+"\r\n\r\n"); err != nil {
			c.Close()
			return
		}
		rc.mu.Lock()
		rc.c.Close()
		rc.c, rc.br = c, bufio.NewReaderSize(c, 4<<10)
		rc.mu.Unlock()
		if rc.closing.Load() {
			c.Close()
			return
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
