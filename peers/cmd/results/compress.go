package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pushwire/pushwire/wsproto/frame"
)

// deflateOffer is the load generator's Sec-WebSocket-Extensions offer: plain
// permessage-deflate, leaving every parameter to the server. Its frames are
// each compressed on their own, so they inflate under any parameters the
// server picks, with or without context takeover.
const deflateOffer = "permessage-deflate"

// zServer is one implementation's echo server with permessage-deflate in
// one mode, as a process of its own.
type zServer struct {
	name string   // as shown in the tables
	mode string   // for the notes
	argv []string // the server process
	ext  string   // the load's offer; "" for the uncompressed reference
}

// zServers lists the compressed echo servers: the shipped `pushwire echo`
// (permessage-deflate on, context takeover both ways), the peer programs
// with -deflate (each library's usual compression settings, level
// included), and for memory the uncompressed `pushwire echo` as the
// reference. gobwas has no compressed echo program (its wsflate needs an
// echo loop of its own).
func zServers(b *bins, withPlain bool) []zServer {
	listen := []string{"-addr", "127.0.0.1:0", "-debug-addr", "127.0.0.1:0"}
	peer := func(name, mode string) []string {
		return append([]string{b.peer[name], "serve", "-deflate", mode}, listen...)
	}
	pw := append([]string{b.pushwire, "echo"}, listen...)
	zs := []zServer{
		{"pushwire", "`pushwire echo`, context takeover both ways", pw, deflateOffer},
		{"pushwire-nct", "peer-pushwire, server_no_context_takeover and client_no_context_takeover", peer("pushwire", "no-context-takeover"), deflateOffer},
		{"gorilla", "EnableCompression, no context takeover (its only mode)", peer("gorilla", "takeover"), deflateOffer},
		{"coder", "CompressionContextTakeover", peer("coder", "takeover"), deflateOffer},
		{"gws", "PermessageDeflate, context takeover both ways", peer("gws", "takeover"), deflateOffer},
	}
	if withPlain {
		zs = append(zs, zServer{"pushwire-plain", "peer-pushwire as pushwire-nct, no extension offered: the uncompressed reference", peer("pushwire", "no-context-takeover"), ""})
	}
	var out []zServer
	for _, z := range zs {
		if *only == "" || slices.Contains(strings.Split(*only, ","), strings.SplitN(z.name, "-", 2)[0]) {
			out = append(out, z)
		}
	}
	return out
}

func (z zServer) start() (*server, error) {
	return startServer(z.name, z.argv, "/", "ws")
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

// compressedEchoWorkloads measures compressed echo throughput: every
// server in its own process, all running at once, in interleaved
// repetitions; the load comes from this process's raw sockets.
func compressedEchoWorkloads(r *oldRows, b *bins) {
	zs := zServers(b, false)
	if len(zs) == 0 {
		return
	}
	srvs := map[string]*server{}
	for _, z := range zs {
		s, err := z.start()
		if err != nil {
			logf("zecho: %s: %v", z.name, err)
			continue
		}
		defer s.stop()
		srvs[z.name] = s
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
				note: fmt.Sprintf("permessage-deflate; every server in its own process (the shipped `pushwire echo`, peers/cmd/peer-* serve -deflate); the load generator (this process, raw sockets) offers %q and sends one pre-compressed masked frame (%d B of JSON-like text deflated to %d B by compress/flate BestSpeed, RFC 7692 §7.2.1 tail removed), %d in flight per connection, %v per repetition, servers in rotating order, and counts replies, each of which must have RSV1 set; every server inflates, echoes and compresses again. Modes: %s; MB/s = msgs/s × %d B uncompressed",
					deflateOffer, size, zlen, window, *echoDur, modes(zs), size),
				mbps: float64(size) / 1e6,
			}
			cw := &workload{
				title: w.title + ", per server CPU-second", file: w.file + "-cpu",
				unit: "msgs/CPU-s", higher: true,
				note: "the same repetitions: replies counted ÷ CPU time of the server process over the repetition, handshakes included (/proc/PID/task/*/schedstat); less sensitive to the other work on the machine than msgs/s",
			}
			w.cpu = cw
			for rep := range *reps {
				for _, z := range rotate(zs, rep) {
					s := srvs[z.name]
					if s == nil {
						continue
					}
					var prof chan []byte
					if *zprof != "" && rep == 0 {
						prof = make(chan []byte, 1)
						go func() {
							b, err := s.get(fmt.Sprintf("/debug/pprof/profile?seconds=%d", max(1, int(echoDur.Seconds()))))
							if err != nil {
								logf("zecho profile %s: %v", z.name, err)
							}
							prof <- b
						}()
					}
					c0, err0 := cpuTime(s.pid())
					n, err := frameLoad(s.addr, "/", deflateOffer, msgFrame, conns, window, *echoDur)
					c1, err1 := cpuTime(s.pid())
					if prof != nil {
						if b := <-prof; len(b) > 0 {
							os.WriteFile(filepath.Join(*zprof, fmt.Sprintf("%s-%s.pb.gz", w.file, z.name)), b, 0o644)
						}
					}
					if err != nil {
						logf("zecho %s %d B %d conns: %v", z.name, size, conns, err)
						w.fail(z.name, err)
						cw.fail(z.name, err)
						continue
					}
					w.add(z.name, float64(n)/echoDur.Seconds())
					if err0 == nil && err1 == nil && c1 > c0 {
						cw.add(z.name, float64(n)/(c1-c0).Seconds())
					}
				}
			}
			logf("%s: %s", w.title, w.summary())
			logf("%s: %s", cw.title, cw.summary())
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

// compressedMemWorkload measures, for each compressed echo server in a
// fresh process of its own, the memory per connection once every
// connection has exchanged one compressed 1 KiB message and then stays
// idle, with the uncompressed `pushwire echo` as the reference.
func compressedMemWorkload(r *oldRows, b *bins) {
	zs := zServers(b, true)
	n := *zConns
	msgFrame, _ := deflatedFrame(jsonPayload(1 << 10))
	plainFrame := maskedFrame(jsonPayload(1 << 10))
	w := &workload{
		title: fmt.Sprintf("Memory per connection with compression, %d connections", n),
		file:  "memory-compressed", unit: "bytes/conn",
		note: fmt.Sprintf("(heap in use + stack in use, the server's /debug/vars after two forced collections) growth / connections; every server in a fresh process of its own; every connection negotiated permessage-deflate and echoed one compressed 1 KiB JSON message (pushwire-plain: no offer, one uncompressed message), then stays idle. Modes: %s", modes(zs)),
	}
	for i, z := range zs {
		v, err := func() (float64, error) {
			s, err := z.start()
			if err != nil {
				return 0, err
			}
			defer s.stop()
			time.Sleep(300 * time.Millisecond)
			base, err := heapStack(s)
			if err != nil {
				return 0, err
			}
			frame, rsv := msgFrame, frame.Rsv1
			if z.ext == "" {
				frame, rsv = plainFrame, 0
			}
			conns, err := dialCompressed(s.addr, "/", z.ext, frame, rsv, n, 100+i)
			if err != nil {
				return 0, err
			}
			defer closeAll(conns)
			time.Sleep(500 * time.Millisecond)
			with, err := heapStack(s)
			if err != nil {
				return 0, err
			}
			return float64(with-base) / float64(n), nil
		}()
		if err != nil {
			logf("%s: %s: %v", w.title, z.name, err)
			w.fail(z.name, err)
			continue
		}
		w.add(z.name, v)
		logf("%s: %s %.0f B/conn", w.title, z.name, v)
	}
	r.add(w)
}

// heapStack is the server's heap in use plus stack in use after two
// forced collections.
func heapStack(s *server) (int64, error) {
	if err := s.forceGC(); err != nil {
		return 0, err
	}
	v, err := s.vars()
	if err != nil {
		return 0, err
	}
	return int64(v.Memstats.HeapInuse + v.Memstats.StackInuse), nil
}

// maskedFrame is p in one masked binary frame, uncompressed.
func maskedFrame(p []byte) []byte {
	key := [4]byte{0x5a, 0x12, 0xc3, 0x9e}
	fr := frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpBinary, Masked: true, Mask: key, Length: int64(len(p))})
	masked := bytes.Clone(p)
	frame.Mask(key, 0, masked)
	return append(fr, masked...)
}

// dialCompressed opens n connections offering ext (permessage-deflate, or
// nothing when ""), and on each sends msgFrame and reads the reply, whose
// first frame must have the RSV bits rsv.
func dialCompressed(addr, path, ext string, msgFrame []byte, rsv byte, n, spread int) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var first atomic.Value
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, br, got, err := rawDialExt(localAddr(spread), addr, path, ext)
			if err == nil && ext != "" && !strings.HasPrefix(got, "permessage-deflate") {
				c.Close()
				err = fmt.Errorf("permessage-deflate not accepted (Sec-WebSocket-Extensions: %q)", got)
			}
			if err == nil {
				err = exchangeCompressed(c, br, msgFrame, rsv)
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

func exchangeCompressed(c net.Conn, br *bufio.Reader, msg []byte, want byte) error {
	c.SetDeadline(time.Now().Add(20 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(msg); err != nil {
		return err
	}
	rsv, err := skipMessage(br, new([frame.MaxHeaderSize]byte))
	if err != nil {
		return err
	}
	if rsv&frame.Rsv1 != want {
		return fmt.Errorf("reply with RSV bits %#x, want %#x", rsv, want)
	}
	return nil
}
