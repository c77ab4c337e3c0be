package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushwire/pushwire/peers/internal/dialn"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// The connections: raw sockets, handshakes written by hand, masked client
// frames, and the drains that read everything a server sends.

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
	type opened struct {
		rc   *rconn
		body io.Reader
	}
	all, err := dialn.All(n, func(i int) (opened, error) {
		ip := net.IPv4(127, 0, 0, byte(ip0+i%nips))
		rc, body, err := dial(ip, addr, path, mode)
		if err != nil {
			return opened{}, fmt.Errorf("dial %d from %v: %w", i, ip, err)
		}
		return opened{rc, body}, nil
	}, func(o opened) { o.rc.c.Close() })
	if err != nil {
		return nil, err
	}
	s := &set{conns: make([]*rconn, n)}
	for i, o := range all {
		s.conns[i] = o.rc
		switch mode {
		case "ws-drain":
			s.wg.Go(func() { o.rc.drainWS() })
		case "sse-drain":
			s.wg.Go(func() { o.rc.drainSSE(o.body) })
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
