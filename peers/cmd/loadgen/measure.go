package main

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushwire/pushwire/wsproto/frame"
)

// The measurements a worker runs over a set of connections.

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
