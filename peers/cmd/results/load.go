package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushwire/pushwire/wsproto/frame"
)

const handshakeKey = "dGhlIHNhbXBsZSBub25jZQ=="

// rawDial opens a TCP connection from local (may be nil) to addr and does a
// WebSocket opening handshake by hand.
func rawDial(local *net.TCPAddr, addr, path string) (net.Conn, *bufio.Reader, error) {
	c, br, _, err := rawDialExt(local, addr, path, "")
	return c, br, err
}

// rawDialExt is rawDial offering the extensions ext (none if empty); it
// returns the server's Sec-WebSocket-Extensions answer.
func rawDialExt(local *net.TCPAddr, addr, path, ext string) (net.Conn, *bufio.Reader, string, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if local != nil {
		d.LocalAddr = local
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, nil, "", err
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + handshakeKey + "\r\nSec-WebSocket-Version: 13\r\n"
	if ext != "" {
		req += "Sec-WebSocket-Extensions: " + ext + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		c.Close()
		return nil, nil, "", err
	}
	br := bufio.NewReaderSize(c, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, nil, "", err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		return nil, nil, "", fmt.Errorf("handshake: %s", resp.Status)
	}
	c.SetDeadline(time.Time{})
	return c, br, resp.Header.Get("Sec-WebSocket-Extensions"), nil
}

// maskedFrame is a binary client frame of n bytes, masked, pre-encoded.
func maskedFrame(n int) []byte {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Mask: key, Length: int64(n)})
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i)
	}
	frame.Mask(key, 0, p)
	return append(b, p...)
}

// serverFrame is an unmasked binary server frame of n bytes.
func serverFrame(n int) []byte {
	b := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpBinary, Length: int64(n)})
	return append(b, make([]byte, n)...)
}

// skipFrame reads one frame from br and returns its payload length.
func skipFrame(br *bufio.Reader, scratch *[frame.MaxHeaderSize]byte) (int64, error) {
	h, err := frame.ReadHeader(br, scratch)
	if err != nil {
		return 0, err
	}
	if _, err := br.Discard(int(h.Length)); err != nil {
		return 0, err
	}
	return h.Length, nil
}

// skipFrameHeader reads one frame from br and returns its header.
func skipFrameHeader(br *bufio.Reader, scratch *[frame.MaxHeaderSize]byte) (frame.Header, error) {
	h, err := frame.ReadHeader(br, scratch)
	if err != nil {
		return h, err
	}
	_, err = br.Discard(int(h.Length))
	return h, err
}

// skipMessage reads the frames of one data message from br, skipping
// control frames, and returns the RSV bits of its first frame.
func skipMessage(br *bufio.Reader, scratch *[frame.MaxHeaderSize]byte) (byte, error) {
	var rsv byte
	first := true
	for {
		h, err := skipFrameHeader(br, scratch)
		if err != nil {
			return 0, err
		}
		if h.Opcode.IsControl() {
			continue
		}
		if first {
			rsv, first = h.Rsv, false
		}
		if h.Fin {
			return rsv, nil
		}
	}
}

// echoLoad runs conns connections against addr for d, each keeping window
// frames of size bytes in flight, and returns the replies received.
func echoLoad(addr string, size, conns, window int, d time.Duration) (int64, error) {
	return frameLoad(addr, "/echo", "", maskedFrame(size), conns, window, d)
}

// frameLoad runs conns connections against addr+path, offering the
// extensions ext, for d, each keeping window copies of the pre-encoded
// frame in flight, and returns the replies received. With an extension
// offer, the server must accept permessage-deflate and every reply must have
// RSV1 set, the per-message compressed bit (RFC 7692 §6).
func frameLoad(addr, path, ext string, msgFrame []byte, conns, window int, d time.Duration) (int64, error) {
	var total atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	deadline := time.Now().Add(d)
	for range conns {
		c, br, got, err := rawDialExt(nil, addr, path, ext)
		if err != nil {
			return 0, err
		}
		if ext != "" && !strings.HasPrefix(got, "permessage-deflate") {
			c.Close()
			return 0, fmt.Errorf("permessage-deflate not accepted (Sec-WebSocket-Extensions: %q)", got)
		}
		wg.Go(func() {
			defer c.Close()
			tokens := make(chan struct{}, window)
			stop := make(chan struct{})
			go func() {
				for {
					select {
					case tokens <- struct{}{}:
					case <-stop:
						return
					}
					if _, err := c.Write(msgFrame); err != nil {
						return
					}
				}
			}()
			defer close(stop)
			var scratch [frame.MaxHeaderSize]byte
			c.SetReadDeadline(deadline.Add(10 * time.Second))
			first := true // the next frame starts a message
			for time.Now().Before(deadline) {
				h, err := skipFrameHeader(br, &scratch)
				if err != nil {
					errs <- err
					return
				}
				if h.Opcode.IsControl() {
					continue
				}
				// RFC 7692 §6: RSV1 is set on the first frame of a
				// compressed message only.
				if first && ext != "" && h.Rsv&frame.Rsv1 == 0 {
					errs <- errors.New("reply without RSV1: not compressed")
					return
				}
				first = h.Fin
				if !h.Fin {
					continue // a reply is counted once, at its final frame
				}
				total.Add(1)
				<-tokens
			}
		})
	}
	wg.Wait()
	close(errs)
	return total.Load(), <-errs
}

// frameServer serves a stream of n server frames of size bytes to every
// WebSocket client, after a hand-made handshake.
func frameServer(size, n int) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	one := serverFrame(size)
	batch := one
	for len(batch) < 256<<10 && len(batch)/len(one) < n {
		batch = append(batch, one...)
	}
	per := len(batch) / len(one)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
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
				for left := n; left > 0; left -= per {
					b := batch
					if left < per {
						b = batch[:left*len(one)]
					}
					if _, err := c.Write(b); err != nil {
						return
					}
				}
				io.Copy(io.Discard, c) // until the client goes
			}()
		}
	}()
	return ln.Addr().String(), func() { ln.Close() }, nil
}

// localAddr returns 127.0.0.x for spreading clients over source addresses.
func localAddr(x int) *net.TCPAddr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+x%250))}
}

var errTimeout = errors.New("timed out")

// dialMany opens n raw WebSocket connections to addr+path, spreading them
// over source addresses, with a bounded number of handshakes at once.
func dialMany(addr, path string, n int, spread int) ([]net.Conn, []*bufio.Reader, error) {
	conns := make([]net.Conn, n)
	brs := make([]*bufio.Reader, n)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var first atomic.Value
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, br, err := rawDial(localAddr(spread+i/20000), addr, path)
			if err != nil {
				first.CompareAndSwap(nil, err)
				return
			}
			conns[i], brs[i] = c, br
		})
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		return nil, nil, err
	}
	return conns, brs, nil
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}
