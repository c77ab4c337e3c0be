package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/pushwire/pushwire/wsproto/frame"
)

// The frames subcommand: a server of endless binary frames.

// frameServer serves an endless stream of size-byte binary frames to every
// WebSocket client after a hand-made handshake, in writes of about 256 KiB.
// It returns only when it cannot listen or accept, with that error.
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
