package main

// The raw client of the old method's rows (compressed echo and memory, SSE
// fan-out); the other rows use peers/cmd/loadgen.

import (
	"bufio"
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

// rawDialExt opens a TCP connection from local (may be nil) to addr and does
// a WebSocket opening handshake by hand, offering the extensions ext (none
// if empty); it returns the server's Sec-WebSocket-Extensions answer.
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

// localAddr returns 127.0.0.x for spreading clients over source addresses.
func localAddr(x int) *net.TCPAddr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+x%250))}
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}
