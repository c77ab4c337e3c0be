package wsproto

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// countingConn counts the bytes read from and written to a net.Conn, to
// observe frame sizes on the wire.
type countingConn struct {
	net.Conn
	read, written atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

// deflatePair connects a pushwire client that sends exactly offer to a
// server accepting with aopts, and returns both with the client's
// counting net.Conn. The client checks the response as Dial does.
func deflatePair(t testing.TB, aopts *AcceptOptions, offer handshake.Extension, copts *CompressionOptions) (server, client *Conn, cc *countingConn) {
	t.Helper()
	conns := make(chan *Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, aopts)
		if err != nil {
			t.Errorf("Accept: %v", err)
			return
		}
		conns <- c
	}))
	t.Cleanup(srv.Close)
	nc, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	u := &url.URL{Scheme: "ws", Host: srv.Listener.Addr().String(), Path: "/"}
	br := bufio.NewReader(nc)
	res, err := handshake.ClientHandshake(nc, br, u, &handshake.ClientOptions{Extensions: []handshake.Extension{offer}})
	if err != nil {
		nc.Close()
		t.Fatalf("ClientHandshake: %v", err)
	}
	var p *deflateParams
	for _, e := range res.Extensions {
		params, err := checkDeflateResponse(e, offer, copts)
		if err != nil {
			nc.Close()
			t.Fatalf("checkDeflateResponse(%q, %q) = %v", e, offer, err)
		}
		p = &params
	}
	var buffered []byte
	if n := br.Buffered(); n > 0 {
		buffered, _ = br.Peek(n)
	}
	cc = &countingConn{Conn: nc}
	client = newConn(cc, connConfig{client: true, readLimit: aopts.ReadLimit, deflate: p,
		extensions: handshake.FormatExtensions(res.Extensions), buffered: buffered})
	server = <-conns
	t.Cleanup(func() { server.CloseNow(); client.CloseNow() })
	return server, client, cc
}

// jsonLike returns n bytes of JSON-like text: records with repeating keys
// and varying values, as a push application would send.
func jsonLike(n int, seed int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := 0; b.Len() < n; i++ {
		k := seed*7919 + i
		fmt.Fprintf(&b, `{"id":%d,"user":"user%04d","event":"%s","score":%d.%02d,"tags":["t%d","t%d"],"ok":%v},`,
			k, k%977, [...]string{"join", "leave", "message", "typing"}[k%4], k%1000, k%97, k%13, k%7, k%3 == 0)
	}
	out := b.Bytes()[:n]
	return out
}

var (
	bigTextOnce sync.Once
	bigText     []byte
)

// text16M returns a 16 MiB compressible text message, built once.
func text16M() []byte {
	bigTextOnce.Do(func() { bigText = jsonLike(16<<20, 1) })
	return bigText
}

// sendMessage writes want from one end, whole or in uneven pieces, while
// the other end reads it, and checks what arrives.
func sendMessage(t *testing.T, from, to *Conn, typ MessageType, want []byte, fragmented bool) {
	t.Helper()
	ctx := context.Background()
	errc := make(chan error, 1)
	go func() {
		if !fragmented {
			errc <- from.Write(ctx, typ, want)
			return
		}
		w, err := from.Writer(ctx, typ)
		if err != nil {
			errc <- err
			return
		}
		rest := want
		for i := 1; len(rest) > 0; i = i*3 + 1 {
			k := min(i, len(rest))
			if _, err := w.Write(rest[:k]); err != nil {
				errc <- err
				return
			}
			rest = rest[k:]
		}
		errc <- w.Close()
	}()
	gotType, got, err := to.Read(ctx, nil)
	if err != nil {
		t.Fatalf("Read() = %v", err)
	}
	if werr := <-errc; werr != nil {
		t.Fatalf("write: %v", werr)
	}
	if gotType != typ || !bytes.Equal(got, want) {
		t.Fatalf("Read() = %v, %s, want %v, %s", gotType, trunc(got), typ, trunc(want))
	}
}

// deflateOfferCase is one combination of the four parameters of RFC 7692
// §7.1 in a client's offer.
type deflateOfferCase struct {
	serverNoContext, clientNoContext bool
	serverMaxWindow                  string // "" absent
	clientMaxWindow                  string // "-" absent, "" without value
}

func (oc deflateOfferCase) offer() handshake.Extension {
	e := handshake.Extension{Name: extDeflate}
	if oc.serverNoContext {
		e.Params = append(e.Params, handshake.Param{Name: paramServerNoContext})
	}
	if oc.clientNoContext {
		e.Params = append(e.Params, handshake.Param{Name: paramClientNoContext})
	}
	if oc.serverMaxWindow != "" {
		e.Params = append(e.Params, handshake.Param{Name: paramServerMaxWindow, Value: oc.serverMaxWindow})
	}
	if oc.clientMaxWindow != "-" {
		e.Params = append(e.Params, handshake.Param{Name: paramClientMaxWindow, Value: oc.clientMaxWindow})
	}
	return e
}

func allOfferCases() []deflateOfferCase {
	var cases []deflateOfferCase
	for _, snc := range []bool{false, true} {
		for _, cnc := range []bool{false, true} {
			for _, smw := range []string{"", "15", "10"} {
				for _, cmw := range []string{"-", "", "15", "10"} {
					cases = append(cases, deflateOfferCase{snc, cnc, smw, cmw})
				}
			}
		}
	}
	return cases
}

// TestCompressRoundTrip sends messages of 0 B to 64 KiB+1, text and
// binary, whole and fragmented, both ways between a pushwire client and
// server, for every combination of the four permessage-deflate parameters
// in the offer, 16 MiB both ways for each way the windows are used, and
// checks that each end compresses with the window agreed, and by the size
// on the wire of a repeated message that context takeover is used exactly
// where it was agreed.
func TestCompressRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 65535, 64 << 10, 64<<10 + 1}
	for i, oc := range allOfferCases() {
		name := fmt.Sprintf("%q", oc.offer().String())
		t.Run(name, func(t *testing.T) {
			opts := &CompressionOptions{Threshold: -1}
			server, client, cc := deflatePair(t, &AcceptOptions{ReadLimit: 32 << 20, Compression: opts}, oc.offer(), opts)
			// A smaller server_max_window_bits is accepted (RFC 7692
			// §7.1.2.1) and the server's encoder keeps to it (the
			// encoder's own tests check every distance against the
			// window); the client inflates with that window.
			smallWindow := oc.serverMaxWindow == "10"
			wantBits := 15
			if smallWindow {
				wantBits = 10
			}
			if got := server.z.d.enc.WindowBits(); got != wantBits {
				t.Fatalf("server compresses with a window of %d bits, want %d", got, wantBits)
			}
			if got := client.z.i.dec.WindowBits(); got != wantBits {
				t.Fatalf("client inflates with a window of %d bits, want %d", got, wantBits)
			}
			wantExt := "permessage-deflate"
			if oc.serverMaxWindow != "" {
				wantExt += "; server_max_window_bits=" + oc.serverMaxWindow
			}
			if oc.serverNoContext {
				wantExt += "; server_no_context_takeover"
			}
			if oc.clientNoContext {
				wantExt += "; client_no_context_takeover"
			}
			if got := server.Extensions(); got != wantExt {
				t.Fatalf("server.Extensions() = %q, want %q", got, wantExt)
			}
			if got := client.Extensions(); got != wantExt {
				t.Fatalf("client.Extensions() = %q, want %q", got, wantExt)
			}
			for _, dir := range []struct {
				name     string
				from, to *Conn
			}{{"client-to-server", client, server}, {"server-to-client", server, client}} {
				for _, typ := range []MessageType{MessageText, MessageBinary} {
					for _, fragmented := range []bool{false, true} {
						for _, n := range sizes {
							sendMessage(t, dir.from, dir.to, typ, payload(n, typ, uint64(n)), fragmented)
						}
					}
				}
			}
			// 16 MiB for each way the windows are used: context takeover
			// or not in each direction, and a small window. The
			// other parameters change nothing for a large message, and
			// 16 MiB under the race detector takes half a minute per
			// combination on a loaded machine.
			if oc.clientMaxWindow == "-" {
				switch oc.serverMaxWindow {
				case "":
					sendMessage(t, client, server, MessageText, text16M(), (i/4)%2 == 0)
					sendMessage(t, server, client, MessageText, text16M(), (i/4)%2 != 0)
				case "10": // a 1 KiB window, from the server
					sendMessage(t, server, client, MessageText, text16M(), (i/4)%2 == 0)
				}
			}

			// Context takeover: the second copy of a message is much
			// smaller on the wire when the window is kept.
			msg := jsonLike(4<<10, 7)
			sizeOf := func(counter *atomic.Int64, from, to *Conn) int64 {
				before := counter.Load()
				sendMessage(t, from, to, MessageText, msg, false)
				return counter.Load() - before
			}
			for _, d := range []struct {
				name        string
				counter     *atomic.Int64
				from, to    *Conn
				noContext   bool
				smallWindow bool
			}{
				{"client-to-server", &cc.written, client, server, oc.clientNoContext, false},
				{"server-to-client", &cc.read, server, client, oc.serverNoContext, smallWindow},
			} {
				first := sizeOf(d.counter, d.from, d.to)
				second := sizeOf(d.counter, d.from, d.to)
				switch {
				case d.smallWindow:
					// The 4 KiB message does not fit the 1 KiB window:
					// the second copy cannot refer to the first as a
					// whole, but the window still gives matches.
					if first >= int64(len(msg))/2 || second >= int64(len(msg))/2 || second*4 < first {
						t.Errorf("%s with a 1 KiB window: wire sizes %d, %d, want both compressed and the second not a mere reference to the first", d.name, first, second)
					}
				case d.noContext:
					if first != second || first >= int64(len(msg))/2 {
						t.Errorf("%s without context takeover: wire sizes %d, %d, want equal and compressed", d.name, first, second)
					}
				default:
					if second*4 > first {
						t.Errorf("%s with context takeover: wire sizes %d, then %d, want the second under a quarter of the first", d.name, first, second)
					}
				}
			}
		})
	}
}

// TestDialCompression: Dial and Accept negotiate compression through their
// options, and the options' context takeover modes are what is agreed.
func TestDialCompression(t *testing.T) {
	for _, tc := range []struct {
		name         string
		server, dial *CompressionOptions
		want         string
	}{
		{"server-off", nil, &CompressionOptions{}, ""},
		{"client-off", &CompressionOptions{}, nil, ""},
		{"defaults", &CompressionOptions{}, &CompressionOptions{}, "permessage-deflate"},
		{"client-asks-no-context", &CompressionOptions{}, &CompressionOptions{ServerNoContextTakeover: true, ClientNoContextTakeover: true},
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"server-imposes-no-context", &CompressionOptions{ServerNoContextTakeover: true, ClientNoContextTakeover: true}, &CompressionOptions{},
			"permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server, client := pair(t, &AcceptOptions{Compression: tc.server}, &DialOptions{Compression: tc.dial})
			if got := client.Extensions(); got != tc.want {
				t.Fatalf("client.Extensions() = %q, want %q", got, tc.want)
			}
			if got := server.Extensions(); got != tc.want {
				t.Fatalf("server.Extensions() = %q, want %q", got, tc.want)
			}
			msg := jsonLike(10<<10, 3)
			sendMessage(t, client, server, MessageText, msg, false)
			sendMessage(t, server, client, MessageText, msg, true)
		})
	}
}

// clientConnOver returns a client Conn with permessage-deflate p reading in
// and writing to out.
func clientConnOver(in io.Reader, p deflateParams) (*Conn, *pipeConn) {
	pc := &pipeConn{r: in}
	return newConn(pc, connConfig{client: true, readLimit: 1 << 20, closeTimeout: time.Second, deflate: &p}), pc
}

// TestRFC7692Examples decodes the examples of RFC 7692 §7.2.3, byte for
// byte as the RFC prints them, read whole and a byte or half a buffer at a
// time, and encodes those that compress/flate produces identically.
func TestRFC7692Examples(t *testing.T) {
	hello := []string{"Hello"}
	for _, tc := range []struct {
		name      string
		wire      []byte
		noContext bool
		want      []string
	}{
		// §7.2.3.1: "A message containing "Hello" compressed, in one frame"
		{"7.2.3.1-one-frame", []byte{0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, true, hello},
		// §7.2.3.1: the same, fragmented: RSV1 on the first frame only.
		{"7.2.3.1-fragmented", []byte{0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00}, true, hello},
		// §7.2.3.2: the second "Hello" refers to the first (context
		// takeover): a match of length 5 at distance 5.
		{"7.2.3.2-sliding-window", []byte{0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00}, false, []string{"Hello", "Hello"}},
		// §7.2.3.3: a DEFLATE block with no compression.
		{"7.2.3.3-stored-block", []byte{0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}, true, hello},
		// §7.2.3.4: a DEFLATE block with BFINAL set, then a 0x00.
		{"7.2.3.4-bfinal", []byte{0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}, true, hello},
		// §7.2.3.5: two DEFLATE blocks in one message.
		{"7.2.3.5-two-blocks", []byte{0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}, true, hello},
	} {
		for _, chunk := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{{"whole", func(r io.Reader) io.Reader { return r }}, {"one-byte", iotest.OneByteReader}, {"half", iotest.HalfReader}} {
			t.Run(tc.name+"/"+chunk.name, func(t *testing.T) {
				c, _ := clientConnOver(chunk.wrap(bytes.NewReader(tc.wire)), deflateParams{readNoContext: tc.noContext})
				for _, want := range tc.want {
					typ, got, err := c.Read(context.Background(), nil)
					if err != nil || typ != MessageText || string(got) != want {
						t.Fatalf("Read(% x) = %v, %q, %v, want text %q", tc.wire, typ, got, err, want)
					}
				}
				if _, _, err := c.Read(context.Background(), nil); frame.CloseStatus(err) != frame.CloseAbnormal {
					t.Fatalf("Read at end of input = %v, want 1006", err)
				}
			})
		}
	}

	// Encoding: "Hello" as in §7.2.3.1 without context takeover, and with
	// it the second "Hello" as in §7.2.3.2, a back-reference of length 5
	// at distance 5 (coded differently from the RFC's f2 00 11 00 00, see
	// internal/deflate's TestEncodeRFC7692), at most 5 bytes.
	for _, tc := range []struct {
		name    string
		context bool
		want    []byte
	}{
		{"7.2.3.1-no-context", false, []byte{0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}},
		{"7.2.3.2-context-takeover", true, nil},
	} {
		t.Run("encode/"+tc.name, func(t *testing.T) {
			pc := &pipeConn{r: bytes.NewReader(nil)}
			c := newConn(pc, connConfig{closeTimeout: time.Second, deflate: &deflateParams{threshold: -1, writeNoContext: !tc.context}})
			for range 2 {
				if err := c.Write(context.Background(), MessageText, []byte("Hello")); err != nil {
					t.Fatal(err)
				}
			}
			got := pc.w.Bytes()
			if tc.want != nil && !bytes.Equal(got, tc.want) {
				t.Fatalf("Write(\"Hello\") x2 wrote % x, want % x", got, tc.want)
			}
			if tc.context {
				first := []byte{0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}
				if !bytes.HasPrefix(got, first) || got[len(first)] != 0xc1 || len(got)-len(first) > 2+5 {
					t.Fatalf("Write(\"Hello\") x2 with context takeover wrote % x, want % x and a frame of at most 5 bytes", got, first)
				}
			}
			// And it reads back.
			r, _ := clientConnOver(bytes.NewReader(got), deflateParams{readNoContext: !tc.context})
			for range 2 {
				if _, msg, err := r.Read(context.Background(), nil); err != nil || string(msg) != "Hello" {
					t.Fatalf("reading back % x: %q, %v", got, msg, err)
				}
			}
		})
	}
}

// compressRaw compresses p as a permessage-deflate payload.
func compressRaw(t testing.TB, p []byte, level int) []byte {
	var b bytes.Buffer
	zw, err := flate.NewWriter(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(p)
	zw.Flush()
	return bytes.TrimSuffix(b.Bytes(), []byte{0x00, 0x00, 0xff, 0xff})
}

// TestCompressMalformed feeds a server with compression bad compressed
// input and checks the close code it answers with (RFC 7692 §6, §7.2.2).
func TestCompressMalformed(t *testing.T) {
	hello := compressRaw(t, []byte("Hello"), 6)
	badUTF8 := compressRaw(t, []byte{'a', 0xff, 'b'}, 6)
	for _, tc := range []struct {
		name    string
		in      []byte
		deflate bool
		want    int
	}{
		{"rsv1-on-continuation", frames(rawFrame(false, frame.Rsv1, frame.OpText, true, hello[:2]), rawFrame(true, frame.Rsv1, frame.OpContinuation, true, hello[2:])), true, 1002},
		{"rsv1-on-ping", rawFrame(true, frame.Rsv1, frame.OpPing, true, nil), true, 1002},
		{"rsv1-on-close", rawFrame(true, frame.Rsv1, frame.OpClose, true, []byte{3, 232}), true, 1002},
		{"rsv1-without-extension", rawFrame(true, frame.Rsv1, frame.OpText, true, hello), false, 1002},
		{"rsv2-with-deflate", rawFrame(true, frame.Rsv2, frame.OpText, true, hello), true, 1002},
		{"reserved-block-type", rawFrame(true, frame.Rsv1, frame.OpBinary, true, []byte{0x07, 0x00}), true, 1007},
		{"bad-stored-length", rawFrame(true, frame.Rsv1, frame.OpBinary, true, []byte{0x00, 0x05, 0x00, 0x00, 0x00}), true, 1007},
		{"stored-block-cut-short", rawFrame(true, frame.Rsv1, frame.OpBinary, true, []byte{0x00, 0x10, 0x00, 0xef, 0xff, 'a'}), true, 1007},
		{"distance-beyond-output", rawFrame(true, frame.Rsv1, frame.OpBinary, true, []byte{0xf2, 0x00, 0x11, 0x00, 0x00}), true, 1007},
		{"invalid-utf8-inflated", rawFrame(true, frame.Rsv1, frame.OpText, true, badUTF8), true, 1007},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pc := &pipeConn{r: bytes.NewReader(tc.in)}
			cfg := connConfig{readLimit: 1 << 20, closeTimeout: time.Second}
			if tc.deflate {
				cfg.deflate = &deflateParams{threshold: 128}
			}
			c := newConn(pc, cfg)
			_, msg, err := c.Read(context.Background(), nil)
			if got := lastClose(t, pc.w.Bytes()); got != tc.want {
				t.Fatalf("Read(%s) = %q, %v; sent close %d, want %d", trunc(tc.in), msg, err, got, tc.want)
			}
		})
	}
	// A text message whose inflated bytes stop inside a character.
	t.Run("text-ends-inside-character", func(t *testing.T) {
		euro := compressRaw(t, []byte("ab\xe2\x82"), 6) // "€" is e2 82 ac
		pc := &pipeConn{r: bytes.NewReader(rawFrame(true, frame.Rsv1, frame.OpText, true, euro))}
		c := newConn(pc, connConfig{readLimit: 1 << 20, closeTimeout: time.Second, deflate: &deflateParams{}})
		_, _, err := c.Read(context.Background(), nil)
		if got := lastClose(t, pc.w.Bytes()); got != 1007 || !errors.Is(err, ErrInvalidUTF8) {
			t.Fatalf("Read(text inflating to %q) = %v, sent %d, want ErrInvalidUTF8 and 1007", "ab\xe2\x82", err, got)
		}
	})
}

// bomb returns a compressed payload of about 10 KiB that inflates to 10 MiB.
func bomb(t testing.TB) []byte {
	p := compressRaw(t, make([]byte, 10<<20), flate.BestCompression)
	if len(p) > 11<<10 {
		t.Fatalf("bomb is %d bytes compressed, want about 10 KiB", len(p))
	}
	return p
}

// TestCompressionBomb: a 10 KiB message that inflates to 10 MiB fails
// with 1009 under a 1 MiB limit having allocated at most 1.25 times the
// limit when it is read whole (the limit's worth of output, the
// decompressor and the read buffer), and a quarter of it when streamed.
func TestCompressionBomb(t *testing.T) {
	payload := bomb(t)
	const limit = 1 << 20
	for _, tc := range []struct {
		name     string
		read     func(c *Conn) error
		maxAlloc uint64
	}{
		{"Read", func(c *Conn) error {
			_, _, err := c.Read(context.Background(), nil)
			return err
		}, limit + limit/4},
		{"Reader", func(c *Conn) error {
			_, r, err := c.Reader(context.Background())
			if err != nil {
				return err
			}
			_, err = io.CopyBuffer(io.Discard, r, make([]byte, 4096))
			return err
		}, limit / 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := frames(rawFrame(true, frame.Rsv1, frame.OpBinary, true, payload))
			pc := &pipeConn{r: bytes.NewReader(in)}
			c := newConn(pc, connConfig{readLimit: limit, closeTimeout: time.Second, deflate: &deflateParams{}})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err := tc.read(c)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrMessageTooBig) || frame.CloseStatus(err) != frame.CloseTooBig && lastClose(t, pc.w.Bytes()) != 1009 {
				t.Fatalf("reading a %d-byte bomb under a %d-byte limit = %v, want ErrMessageTooBig", len(payload), limit, err)
			}
			if got := lastClose(t, pc.w.Bytes()); got != 1009 {
				t.Fatalf("sent close %d, want 1009", got)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %d bytes", alloc)
			if alloc > tc.maxAlloc {
				t.Fatalf("reading the bomb allocated %d bytes, want at most %d (it inflates to %d)", alloc, tc.maxAlloc, 10<<20)
			}
		})
	}
}

// TestCompressThreshold: messages below the threshold, and those written
// with WriteUncompressed, go out without RSV1; others with it.
func TestCompressThreshold(t *testing.T) {
	for _, tc := range []struct {
		name      string
		threshold int
		size      int
		write     func(c *Conn, p []byte) error
		wantRsv1  bool
	}{
		{"below-default", 0, 127, nil, false},
		{"at-default", 0, 128, nil, true},
		{"negative-compresses-all", -1, 0, nil, true},
		{"custom", 1000, 999, nil, false},
		{"write-uncompressed", 0, 4096, func(c *Conn, p []byte) error { return c.WriteUncompressed(context.Background(), MessageText, p) }, false},
		{"writer-below", 0, 127, func(c *Conn, p []byte) error {
			w, _ := c.Writer(context.Background(), MessageText)
			w.Write(p)
			return w.Close()
		}, false},
		{"writer-at", 0, 128, func(c *Conn, p []byte) error {
			w, _ := c.Writer(context.Background(), MessageText)
			w.Write(p[:1])
			w.Write(p[1:])
			return w.Close()
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pc := &pipeConn{r: bytes.NewReader(nil)}
			p := newDeflateParams(&CompressionOptions{Threshold: tc.threshold})
			c := newConn(pc, connConfig{closeTimeout: time.Second, deflate: &p})
			msg := bytes.Repeat([]byte("a"), tc.size)
			write := tc.write
			if write == nil {
				write = func(c *Conn, p []byte) error { return c.Write(context.Background(), MessageText, p) }
			}
			if err := write(c, msg); err != nil {
				t.Fatal(err)
			}
			h, _ := readServerFrame(t, bytes.NewReader(pc.w.Bytes()))
			if got := h.Rsv&frame.Rsv1 != 0; got != tc.wantRsv1 {
				t.Fatalf("%d-byte message with threshold %d: RSV1 = %v, want %v", tc.size, tc.threshold, got, tc.wantRsv1)
			}
		})
	}
}

// TestCompressedPreparedMessage: server connections without context
// takeover share one compressed frame per window size; with context
// takeover each compresses for itself; all read back.
func TestCompressedPreparedMessage(t *testing.T) {
	msg := jsonLike(8<<10, 5)
	pm, err := NewPreparedMessage(MessageText, msg)
	if err != nil {
		t.Fatal(err)
	}
	var outs [][]byte
	for i, p := range []deflateParams{
		{threshold: 128, writeNoContext: true},
		{threshold: 128, writeNoContext: true, writeBits: 15},
		{threshold: 128, writeNoContext: true, writeBits: 9},
		{threshold: 128},
	} {
		pc := &pipeConn{r: bytes.NewReader(nil)}
		c := newConn(pc, connConfig{closeTimeout: time.Second, deflate: &p})
		if err := c.WritePrepared(context.Background(), pm); err != nil {
			t.Fatal(err)
		}
		out := pc.w.Bytes()
		outs = append(outs, out)
		r, _ := clientConnOver(bytes.NewReader(out), deflateParams{readNoContext: true})
		if _, got, err := r.Read(context.Background(), nil); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("conn %d: reading the prepared message back: %v", i, err)
		}
		if len(out) > len(msg)/2 || out[0] != 0xc1 {
			t.Fatalf("conn %d: prepared message is %d bytes starting %#x, want compressed with RSV1", i, len(out), out[0])
		}
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Errorf("two connections with 15-bit windows wrote different frames")
	}
	if bytes.Equal(outs[0], outs[2]) {
		t.Errorf("connections with 15-bit and 9-bit windows wrote the same frame")
	}
	if len(pm.deflated) != 2 {
		t.Errorf("prepared message holds %d compressed frames, want 2 (windows of 15 and 9 bits)", len(pm.deflated))
	}
}

// TestCompressedReaderAbandoned: a streaming reader left in the middle of a
// compressed message is skipped by the next Read, with and without
// context takeover, and the next message is intact.
func TestCompressedReaderAbandoned(t *testing.T) {
	for _, noContext := range []bool{false, true} {
		t.Run(fmt.Sprintf("noContext=%v", noContext), func(t *testing.T) {
			opts := &CompressionOptions{ServerNoContextTakeover: noContext, ClientNoContextTakeover: noContext}
			server, client := pair(t, &AcceptOptions{Compression: opts}, &DialOptions{Compression: opts})
			ctx := context.Background()
			first, second := jsonLike(100<<10, 1), jsonLike(50<<10, 1)
			go func() {
				server.Write(ctx, MessageText, first)
				server.Write(ctx, MessageText, second)
			}()
			_, r, err := client.Reader(ctx)
			if err != nil {
				t.Fatal(err)
			}
			part := make([]byte, 1000)
			if _, err := io.ReadFull(r, part); err != nil || !bytes.Equal(part, first[:1000]) {
				t.Fatalf("reading 1000 bytes: %v", err)
			}
			_, got, err := client.Read(ctx, nil)
			if err != nil || !bytes.Equal(got, second) {
				t.Fatalf("Read after abandoned reader = %s, %v, want the second message", trunc(got), err)
			}
		})
	}
}

var compressionModes = []struct {
	name string
	opts *CompressionOptions
}{
	{"pooled", &CompressionOptions{ServerNoContextTakeover: true, ClientNoContextTakeover: true}},
	{"context-takeover", &CompressionOptions{}},
}

// compressedEchoPair returns a client whose server echoes every message,
// both with compression opts.
func compressedEchoPair(tb testing.TB, opts *CompressionOptions) *Conn {
	server, client := pair(tb, &AcceptOptions{ReadLimit: 1 << 20, Compression: opts}, &DialOptions{ReadLimit: 1 << 20, Compression: opts})
	go echoLoop(server)
	return client
}

// TestCompressedReadExactBuffer: a short compressed message read without a
// buffer comes back in one of its own size, as an uncompressed one does,
// not in a chunk sized by the growth rule: an application that keeps it
// for reuse (ReuseBuffer) keeps no more than the message.
func TestCompressedReadExactBuffer(t *testing.T) {
	for _, n := range []int{1, 700, 1000, 5000, 40000} {
		msg := jsonLike(n, 3)
		wire := rawFrame(true, frame.Rsv1, frame.OpText, false, compressRaw(t, msg, 1))
		c, _ := clientConnOver(bytes.NewReader(wire), deflateParams{})
		_, got, err := c.Read(context.Background(), nil)
		if err != nil || !bytes.Equal(got, msg) || cap(got) != n {
			t.Fatalf("Read of a compressed %d-byte message: %d bytes, cap %d, %v; want the message in a buffer of cap %d", n, len(got), cap(got), err, n)
		}
	}
}

// TestClientMaxWindowBits: a server with ClientMaxWindowBits asks Dial's
// client, whose offer has client_max_window_bits, for a 512-byte window
// (RFC 7692 §7.1.2.2); the client compresses within it, the server keeps
// 512 bytes of window for the client's messages, and a client that
// refers further back than it agreed to fails with 1007.
func TestClientMaxWindowBits(t *testing.T) {
	server, client := pair(t, &AcceptOptions{Compression: &CompressionOptions{ClientMaxWindowBits: 9}}, &DialOptions{Compression: &CompressionOptions{}})
	want := "permessage-deflate; client_max_window_bits=9"
	if got, got2 := server.Extensions(), client.Extensions(); got != want || got2 != want {
		t.Fatalf("Extensions() = %q (server), %q (client), want %q", got, got2, want)
	}
	if got := client.z.d.enc.WindowBits(); got != 9 {
		t.Fatalf("client compresses with a window of %d bits, want 9", got)
	}
	msg := jsonLike(10<<10, 3)
	for i := range 3 {
		sendMessage(t, client, server, MessageText, msg, i == 1)
		sendMessage(t, server, client, MessageText, msg, i == 2)
	}
	if got := server.z.i.dec.IdleSize(); got != 512 {
		t.Errorf("server keeps %d bytes of window for the client's messages, want 512", got)
	}
	if got := client.z.i.dec.IdleSize(); got != 1<<15 {
		t.Errorf("client keeps %d bytes of window for the server's messages, want 32768", got)
	}

	// Two messages from a raw client, the second compressed with the
	// first as its dictionary and referring 2,000 bytes back: they
	// inflate with a 15-bit window and fail with 1007 with a 9-bit one.
	first := make([]byte, 2000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range first {
		first[i] = byte(r.Uint32())
	}
	var b bytes.Buffer
	zw, _ := flate.NewWriterDict(&b, flate.DefaultCompression, first)
	zw.Write(first[:600])
	zw.Flush()
	second := bytes.TrimSuffix(b.Bytes(), []byte{0x00, 0x00, 0xff, 0xff})
	if len(second) > 100 {
		t.Fatalf("the second message compresses to %d bytes: not a reference to the first", len(second))
	}
	in := frames(rawFrame(true, frame.Rsv1, frame.OpBinary, true, compressRaw(t, first, flate.BestSpeed)), rawFrame(true, frame.Rsv1, frame.OpBinary, true, second))
	for _, bits := range []int{15, 9} {
		pc := &pipeConn{r: bytes.NewReader(in)}
		c := newConn(pc, connConfig{readLimit: 1 << 20, closeTimeout: time.Second, deflate: &deflateParams{threshold: 128, writeBits: 15, readBits: bits}})
		_, m1, err1 := c.Read(context.Background(), nil)
		_, m2, err2 := c.Read(context.Background(), nil)
		if err1 != nil || !bytes.Equal(m1, first) {
			t.Fatalf("%d bits: first message: %d bytes, %v", bits, len(m1), err1)
		}
		if bits == 15 && (err2 != nil || !bytes.Equal(m2, first[:600])) {
			t.Errorf("15 bits: second message: %d bytes, %v; want the 600 bytes", len(m2), err2)
		}
		if got := lastClose(t, pc.w.Bytes()); bits == 9 && (got != 1007 || !errors.Is(err2, ErrInvalidCompressed)) {
			t.Errorf("9 bits: second message: %v, close %d; want ErrInvalidCompressed and 1007", err2, got)
		}
	}
}
