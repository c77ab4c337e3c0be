package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushwire/pushwire/peers"
	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// deflateOffer is the load generator's Sec-WebSocket-Extensions offer: plain
// permessage-deflate, leaving every parameter to the server. Its frames are
// each compressed on their own, so they inflate under any parameters the
// server picks, with or without context takeover.
const deflateOffer = "permessage-deflate"

// zServer is one implementation's echo server with permessage-deflate in
// one mode.
type zServer struct {
	name string // as shown in the tables
	impl string // the peers.Impl it belongs to
	mode string // for the notes
	echo func() http.Handler
}

// zServers lists every compressed echo server of the selected
// implementations. Each uses its library's default compression level
// (flate.BestSpeed everywhere, except gobwas, whose helper defaults to 9;
// it is given BestSpeed like the others).
func zServers(impls []*peers.Impl) []zServer {
	var out []zServer
	for _, im := range impls {
		switch im.Name {
		case "pushwire":
			out = append(out,
				zServer{"pushwire", im.Name, "context takeover", func() http.Handler { return im.Echo(true) }},
				zServer{"pushwire-nct", im.Name, "server_no_context_takeover and client_no_context_takeover", pwEchoNoContextTakeover})
		case "gorilla":
			out = append(out, zServer{im.Name, im.Name, "no context takeover (its only mode)", func() http.Handler { return im.Echo(true) }})
		case "coder":
			out = append(out, zServer{im.Name, im.Name, "context takeover (CompressionContextTakeover)", func() http.Handler { return im.Echo(true) }})
		case "gws":
			out = append(out, zServer{im.Name, im.Name, "context takeover both ways", func() http.Handler { return im.Echo(true) }})
		case "gobwas":
			out = append(out, zServer{im.Name, im.Name, "no context takeover (wsflate.DefaultParameters), wsflate reader and writer", func() http.Handler { return im.Echo(true) }})
		}
	}
	return out
}

// pwEchoNoContextTakeover is pushwire's echo server with permessage-deflate
// and no context takeover in either direction: no window or compressor is
// kept for a connection between messages.
func pwEchoNoContextTakeover() http.Handler {
	opts := &wsproto.AcceptOptions{
		InsecureSkipOriginCheck: true,
		ReadLimit:               peers.MaxMessage,
		Compression:             &wsproto.CompressionOptions{ServerNoContextTakeover: true, ClientNoContextTakeover: true},
	}
	return wsproto.Handler(opts, func(c *wsproto.Conn, _ *http.Request) {
		ctx := context.Background()
		var buf []byte
		for {
			typ, msg, err := c.Read(ctx, buf)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, msg); err != nil {
				return
			}
			buf = wsproto.ReuseBuffer(msg)
		}
	})
}

// jsonPayload is n bytes of JSON-like records, compressible the way real
// application messages are.
func jsonPayload(n int) []byte {
	events := []string{"trade", "quote", "cancel", "fill"}
	var b bytes.Buffer
	b.WriteByte('[')
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"user":"user-%04d","event":"%s","price":%d.%02d,"qty":%d,"tags":["push","wire"],"ok":%t},`,
			i, i*7919%10000, events[i%len(events)], 100+i*37%900, i*13%100, 1+i*11%250, i%3 == 0)
	}
	return b.Bytes()[:n]
}

// deflateTail is what RFC 7692 §7.2.1 strips from a compressed message:
// "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from the tail end."
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

// deflatedFrame is p compressed on its own (RFC 7692 §7.2.1: deflate, sync
// flush, tail removed) in one masked binary frame with RSV1 set. It checks
// that the payload inflates back to p.
func deflatedFrame(p []byte) ([]byte, int) {
	var z bytes.Buffer
	fw, err := flate.NewWriter(&z, flate.BestSpeed)
	check(err)
	fw.Write(p)
	check(fw.Flush())
	body, ok := bytes.CutSuffix(z.Bytes(), deflateTail)
	if !ok {
		check(errors.New("deflate output does not end in 00 00 ff ff"))
	}
	back, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(body), bytes.NewReader(deflateTail), bytes.NewReader([]byte{0x01, 0x00, 0x00, 0xff, 0xff}))))
	if err != nil || !bytes.Equal(back, p) {
		check(fmt.Errorf("pre-compressed frame does not inflate back: %v", err))
	}
	key := [4]byte{0x5a, 0x12, 0xc3, 0x9e}
	fr := frame.AppendHeader(nil, frame.Header{Fin: true, Rsv: frame.Rsv1, Opcode: frame.OpBinary, Masked: true, Mask: key, Length: int64(len(body))})
	masked := bytes.Clone(body)
	frame.Mask(key, 0, masked)
	return append(fr, masked...), len(body)
}

func compressedEchoWorkloads(r *oldRows, impls []*peers.Impl) {
	zs := zServers(impls)
	if len(zs) == 0 {
		return
	}
	addrs := map[string]string{}
	for _, z := range zs {
		mux := http.NewServeMux()
		mux.Handle("/echo", z.echo())
		a, stop := serve(mux)
		defer stop()
		addrs[z.name] = a
	}
	for _, size := range []int{1 << 10, 64 << 10} {
		window := 32
		if size >= 64<<10 {
			window = 8
		}
		msgFrame, zlen := deflatedFrame(jsonPayload(size))
		for _, conns := range []int{1, 100} {
			w := &workload{
				title: fmt.Sprintf("Compressed echo, %s JSON messages, %d connection(s)", sizeName(size), conns),
				file:  fmt.Sprintf("zecho-%s-%dc", sizeName(size), conns),
				unit:  "msgs/s", higher: true,
				note: fmt.Sprintf("permessage-deflate; the load generator offers %q and sends one pre-compressed masked frame (%d B of JSON-like text deflated to %d B, RFC 7692 §7.2.1 tail removed), %d in flight per connection, %v per repetition, and counts replies, each of which must have RSV1 set; every server inflates, echoes and compresses again. Modes: %s; MB/s = msgs/s × %d B uncompressed",
					deflateOffer, size, zlen, window, *echoDur, modes(zs), size),
				mbps: float64(size) / 1e6,
			}
			for rep := range *reps {
				for _, z := range rotate(zs, rep) {
					n, err := frameLoad(addrs[z.name], "/echo", deflateOffer, msgFrame, conns, window, *echoDur)
					if err != nil {
						logf("zecho %s %d B %d conns: %v", z.name, size, conns, err)
						w.fail(z.name, err)
						continue
					}
					w.add(z.name, float64(n)/echoDur.Seconds())
				}
			}
			logf("%s: %s", w.title, w.summary())
			r.add(w)
		}
	}
}

func modes(zs []zServer) string {
	var ms []string
	for _, z := range zs {
		ms = append(ms, z.name+": "+z.mode)
	}
	return strings.Join(ms, "; ")
}

// compressedMemWorkload measures, for each compressed echo server in its own
// process, the memory per connection once every connection has exchanged
// one compressed 1 KiB message.
func compressedMemWorkload(r *oldRows, impls []*peers.Impl) {
	zs := zServers(impls)
	n := *zConns
	msgFrame, _ := deflatedFrame(jsonPayload(1 << 10))
	w := &workload{
		title: fmt.Sprintf("Memory per connection with compression, %d connections", n),
		file:  "memory-compressed", unit: "bytes/conn",
		note: fmt.Sprintf("(heap in use + stack in use) growth / connections after a forced GC, server in its own process; every connection negotiated permessage-deflate and echoed one compressed 1 KiB JSON message, then stays idle. Modes: %s", modes(zs)),
	}
	for i, z := range zs {
		c := startChild(z.impl)
		base := fields(c.ask("mem"))
		conns, err := dialCompressed(c.addr, "/z/"+z.name, msgFrame, n, 100+i)
		if err != nil {
			logf("%s: %s: %v", w.title, z.name, err)
			w.fail(z.name, err)
			c.stop()
			continue
		}
		time.Sleep(500 * time.Millisecond)
		m := fields(c.ask("mem"))
		v := (m[0] + m[1] - base[0] - base[1]) / float64(n)
		w.add(z.name, v)
		logf("%s: %s %.0f B/conn", w.title, z.name, v)
		closeAll(conns)
		c.stop()
	}
	r.add(w)
}

// dialCompressed opens n connections offering permessage-deflate, and on
// each sends frame and reads the compressed reply.
func dialCompressed(addr, path string, msgFrame []byte, n, spread int) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var first atomic.Value
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, br, ext, err := rawDialExt(localAddr(spread), addr, path, deflateOffer)
			if err == nil && !strings.HasPrefix(ext, "permessage-deflate") {
				c.Close()
				err = fmt.Errorf("permessage-deflate not accepted (Sec-WebSocket-Extensions: %q)", ext)
			}
			if err == nil {
				err = exchangeCompressed(c, br, msgFrame)
				if err != nil {
					c.Close()
				}
			}
			if err != nil {
				first.CompareAndSwap(nil, err)
				return
			}
			conns[i] = c
		})
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		return nil, err
	}
	return conns, nil
}

func exchangeCompressed(c net.Conn, br *bufio.Reader, msg []byte) error {
	c.SetDeadline(time.Now().Add(20 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(msg); err != nil {
		return err
	}
	rsv, err := skipMessage(br, new([frame.MaxHeaderSize]byte))
	if err != nil {
		return err
	}
	if rsv&frame.Rsv1 == 0 {
		return errors.New("reply without RSV1: not compressed")
	}
	return nil
}
