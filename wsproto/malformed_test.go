package wsproto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// rawFrame builds a frame as a client would send it, legal or not.
func rawFrame(fin bool, rsv byte, op frame.Opcode, masked bool, p []byte) []byte {
	h := frame.Header{Fin: fin, Rsv: rsv, Opcode: op, Masked: masked, Mask: [4]byte{0x37, 0xfa, 0x21, 0x3d}, Length: int64(len(p))}
	b := frame.AppendHeader(nil, h)
	start := len(b)
	b = append(b, p...)
	if masked {
		frame.Mask(h.Mask, 0, b[start:])
	}
	return b
}

func text(p string) []byte        { return rawFrame(true, 0, frame.OpText, true, []byte(p)) }
func closeFrame(p []byte) []byte  { return rawFrame(true, 0, frame.OpClose, true, p) }
func closeCode(c uint16) []byte   { return closeFrame(binary.BigEndian.AppendUint16(nil, c)) }
func frames(fs ...[]byte) []byte  { return bytes.Join(fs, nil) }
func repeat(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

const validRequest = "GET /chat HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

// request returns validRequest with header lines replaced (name: value) or
// removed (name: "") and extra lines added.
func request(edits ...string) string {
	lines := strings.Split(strings.TrimSuffix(validRequest, "\r\n"), "\r\n")
	for i := 0; i < len(edits); i += 2 {
		name, value := edits[i], edits[i+1]
		found := false
		for j, l := range lines {
			if j > 0 && strings.HasPrefix(strings.ToLower(l), strings.ToLower(name)+":") {
				found = true
				if value == "" {
					lines = append(lines[:j], lines[j+1:]...)
				} else {
					lines[j] = name + ": " + value
				}
				break
			}
		}
		if !found && value != "" {
			lines = append(lines, name+": "+value)
		}
	}
	return strings.Join(lines, "\r\n") + "\r\n\r\n"
}

// expect is what the server must answer.
type expect struct {
	status   int               // HTTP status of the handshake response
	header   map[string]string // response headers that must be present
	echo     [][]byte          // payloads of the frames expected back, in order, before any close
	echoOps  []frame.Opcode
	close    int // expected close code; -1: none expected (connection stays open); 0: empty close frame
	noHeader string
}

// TestMalformedInputs drives a raw TCP socket against Accept with malformed
// and edge-case handshakes and frames, and asserts the exact HTTP status or
// close code for each.
func TestMalformedInputs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, &AcceptOptions{
			ReadLimit:    1 << 20,
			Subprotocols: []string{"chat"},
			CloseTimeout: 2 * time.Second,
			Verify: func(r *http.Request) error {
				if r.Header.Get("X-Reject") != "" {
					return &handshake.RejectError{Status: http.StatusUnauthorized, Reason: "no entry"}
				}
				return nil
			},
		})
		if err != nil {
			return
		}
		go func() {
			defer c.CloseNow()
			echoLoop(c)
		}()
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	sameOrigin := request("Host", host, "Origin", "http://"+host)

	splitCodePoint := []byte("€") // E2 82 AC
	tooLong := rawFrame(true, 0, frame.OpBinary, true, nil)
	tooLong = append(tooLong[:1], 0x80|127)
	tooLong = binary.BigEndian.AppendUint64(tooLong, 1<<63|5)
	tooLong = append(tooLong, 1, 2, 3, 4)
	nonMinimal := append([]byte{0x81, 0x80 | 126, 0, 5}, 1, 2, 3, 4)
	nonMinimal = append(nonMinimal, []byte("hello")...)
	frame.Mask([4]byte{1, 2, 3, 4}, 0, nonMinimal[8:])
	overLimit := []byte{0x82, 0x80 | 127}
	overLimit = binary.BigEndian.AppendUint64(overLimit, 2<<20)
	overLimit = append(overLimit, 1, 2, 3, 4)

	cases := []struct {
		name   string
		req    string
		frames []byte
		want   expect
	}{
		// The opening handshake, RFC 6455 §4.2.1.
		{"handshake/valid", validRequest + "\r\n", nil, expect{status: 101, close: -1, header: map[string]string{"Sec-WebSocket-Accept": "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}}},
		{"handshake/POST", strings.Replace(validRequest, "GET", "POST", 1) + "Content-Length: 0\r\n\r\n", nil, expect{status: 405}},
		{"handshake/HTTP1.0", strings.Replace(validRequest, "HTTP/1.1", "HTTP/1.0", 1) + "\r\n", nil, expect{status: 400}},
		{"handshake/no Upgrade", request("Upgrade", ""), nil, expect{status: 400}},
		{"handshake/Upgrade h2c", request("Upgrade", "h2c"), nil, expect{status: 400}},
		{"handshake/Upgrade any case", request("Upgrade", "WebSocket"), nil, expect{status: 101, close: -1}},
		{"handshake/Upgrade list", request("Upgrade", "foo/2, websocket"), nil, expect{status: 101, close: -1}},
		{"handshake/no Connection", request("Connection", ""), nil, expect{status: 400}},
		{"handshake/Connection keep-alive", request("Connection", "keep-alive"), nil, expect{status: 400}},
		{"handshake/Connection list", request("Connection", "keep-alive, Upgrade"), nil, expect{status: 101, close: -1}},
		{"handshake/Connection upper", request("Connection", "UPGRADE"), nil, expect{status: 101, close: -1}},
		{"handshake/no version", request("Sec-WebSocket-Version", ""), nil, expect{status: 426, header: map[string]string{"Sec-WebSocket-Version": "13"}}},
		{"handshake/version 8", request("Sec-WebSocket-Version", "8"), nil, expect{status: 426, header: map[string]string{"Sec-WebSocket-Version": "13"}}},
		{"handshake/version 14", request("Sec-WebSocket-Version", "14"), nil, expect{status: 426, header: map[string]string{"Sec-WebSocket-Version": "13"}}},
		{"handshake/no key", request("Sec-WebSocket-Key", ""), nil, expect{status: 400}},
		{"handshake/key not base64", request("Sec-WebSocket-Key", "not base64!!"), nil, expect{status: 400}},
		{"handshake/key 15 bytes", request("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA"), nil, expect{status: 400}},
		{"handshake/key 17 bytes", request("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAAA="), nil, expect{status: 400}},
		{"handshake/two keys", validRequest + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\n", nil, expect{status: 400}},
		{"handshake/cross origin", request("Origin", "http://evil.test"), nil, expect{status: 403}},
		{"handshake/same origin", sameOrigin, nil, expect{status: 101, close: -1}},
		{"handshake/bad protocol", request("Sec-WebSocket-Protocol", "a b"), nil, expect{status: 400}},
		{"handshake/protocol selected", request("Sec-WebSocket-Protocol", "soap, chat"), nil, expect{status: 101, close: -1, header: map[string]string{"Sec-WebSocket-Protocol": "chat"}}},
		{"handshake/protocol not supported", request("Sec-WebSocket-Protocol", "soap"), nil, expect{status: 101, close: -1, noHeader: "Sec-WebSocket-Protocol"}},
		{"handshake/bad extension", request("Sec-WebSocket-Extensions", "permessage-deflate; =x"), nil, expect{status: 400}},
		{"handshake/unknown extension ignored", request("Sec-WebSocket-Extensions", "x-foo; bar=1"), nil, expect{status: 101, close: -1, noHeader: "Sec-WebSocket-Extensions"}},
		{"handshake/verify rejects", request("X-Reject", "1"), nil, expect{status: 401}},

		// Frames, RFC 6455 §5.
		{"frame/text echo", validRequest + "\r\n", text("hello"), expect{status: 101, echo: [][]byte{[]byte("hello")}, echoOps: []frame.Opcode{frame.OpText}, close: -1}},
		{"frame/empty binary", validRequest + "\r\n", rawFrame(true, 0, frame.OpBinary, true, nil), expect{status: 101, echo: [][]byte{{}}, echoOps: []frame.Opcode{frame.OpBinary}, close: -1}},
		{"frame/unmasked", validRequest + "\r\n", rawFrame(true, 0, frame.OpText, false, []byte("hi")), expect{status: 101, close: 1002}},
		{"frame/rsv1", validRequest + "\r\n", rawFrame(true, frame.Rsv1, frame.OpText, true, []byte("hi")), expect{status: 101, close: 1002}},
		{"frame/rsv2", validRequest + "\r\n", rawFrame(true, frame.Rsv2, frame.OpText, true, []byte("hi")), expect{status: 101, close: 1002}},
		{"frame/rsv3", validRequest + "\r\n", rawFrame(true, frame.Rsv3, frame.OpText, true, []byte("hi")), expect{status: 101, close: 1002}},
		{"frame/rsv on ping", validRequest + "\r\n", rawFrame(true, frame.Rsv1|frame.Rsv2|frame.Rsv3, frame.OpPing, true, nil), expect{status: 101, close: 1002}},
		{"frame/ping 125", validRequest + "\r\n", rawFrame(true, 0, frame.OpPing, true, repeat('p', 125)), expect{status: 101, echo: [][]byte{repeat('p', 125)}, echoOps: []frame.Opcode{frame.OpPong}, close: -1}},
		{"frame/ping 126", validRequest + "\r\n", rawFrame(true, 0, frame.OpPing, true, repeat('p', 126)), expect{status: 101, close: 1002}},
		{"frame/fragmented ping", validRequest + "\r\n", rawFrame(false, 0, frame.OpPing, true, []byte("a")), expect{status: 101, close: 1002}},
		{"frame/fragmented close", validRequest + "\r\n", rawFrame(false, 0, frame.OpClose, true, []byte{3, 232}), expect{status: 101, close: 1002}},
		{"frame/unsolicited pong", validRequest + "\r\n", frames(rawFrame(true, 0, frame.OpPong, true, []byte("u")), text("after")), expect{status: 101, echo: [][]byte{[]byte("after")}, echoOps: []frame.Opcode{frame.OpText}, close: -1}},
		{"frame/orphan continuation", validRequest + "\r\n", rawFrame(true, 0, frame.OpContinuation, true, []byte("x")), expect{status: 101, close: 1002}},
		{"frame/two text starts", validRequest + "\r\n", frames(rawFrame(false, 0, frame.OpText, true, []byte("a")), rawFrame(true, 0, frame.OpText, true, []byte("b"))), expect{status: 101, close: 1002}},
		{"frame/ping inside fragmented", validRequest + "\r\n", frames(rawFrame(false, 0, frame.OpText, true, []byte("frag")), rawFrame(true, 0, frame.OpPing, true, []byte("P")), rawFrame(true, 0, frame.OpContinuation, true, []byte("ment"))), expect{status: 101, echo: [][]byte{[]byte("P"), []byte("fragment")}, echoOps: []frame.Opcode{frame.OpPong, frame.OpText}, close: -1}},
		{"frame/invalid utf8", validRequest + "\r\n", rawFrame(true, 0, frame.OpText, true, []byte{'a', 0xff}), expect{status: 101, close: 1007}},
		{"frame/invalid utf8 fail fast", validRequest + "\r\n", rawFrame(false, 0, frame.OpText, true, []byte{'a', 0xed, 0xa0, 0x80}), expect{status: 101, close: 1007}},
		{"frame/code point split", validRequest + "\r\n", frames(rawFrame(false, 0, frame.OpText, true, splitCodePoint[:1]), rawFrame(false, 0, frame.OpContinuation, true, splitCodePoint[1:2]), rawFrame(true, 0, frame.OpContinuation, true, splitCodePoint[2:])), expect{status: 101, echo: [][]byte{splitCodePoint}, echoOps: []frame.Opcode{frame.OpText}, close: -1}},
		{"frame/text ends mid code point", validRequest + "\r\n", rawFrame(true, 0, frame.OpText, true, splitCodePoint[:2]), expect{status: 101, close: 1007}},
		{"frame/64-bit length top bit", validRequest + "\r\n", tooLong, expect{status: 101, close: 1002}},
		{"frame/over read limit", validRequest + "\r\n", overLimit, expect{status: 101, close: 1009}},
		{"frame/non-minimal length", validRequest + "\r\n", nonMinimal, expect{status: 101, echo: [][]byte{[]byte("hello")}, echoOps: []frame.Opcode{frame.OpText}, close: -1}},

		// Closing, RFC 6455 §5.5.1, §7.4.
		{"close/1000", validRequest + "\r\n", closeCode(1000), expect{status: 101, close: 1000}},
		{"close/empty", validRequest + "\r\n", closeFrame(nil), expect{status: 101, close: 0}},
		{"close/3000", validRequest + "\r\n", closeCode(3000), expect{status: 101, close: 3000}},
		{"close/4999", validRequest + "\r\n", closeCode(4999), expect{status: 101, close: 4999}},
		{"close/1012", validRequest + "\r\n", closeCode(1012), expect{status: 101, close: 1012}},
		{"close/1 byte", validRequest + "\r\n", closeFrame([]byte{3}), expect{status: 101, close: 1002}},
		{"close/code 0", validRequest + "\r\n", closeCode(0), expect{status: 101, close: 1002}},
		{"close/code 999", validRequest + "\r\n", closeCode(999), expect{status: 101, close: 1002}},
		{"close/code 1004", validRequest + "\r\n", closeCode(1004), expect{status: 101, close: 1002}},
		{"close/code 1005", validRequest + "\r\n", closeCode(1005), expect{status: 101, close: 1002}},
		{"close/code 1006", validRequest + "\r\n", closeCode(1006), expect{status: 101, close: 1002}},
		{"close/code 1015", validRequest + "\r\n", closeCode(1015), expect{status: 101, close: 1002}},
		{"close/code 1016", validRequest + "\r\n", closeCode(1016), expect{status: 101, close: 1002}},
		{"close/code 2999", validRequest + "\r\n", closeCode(2999), expect{status: 101, close: 1002}},
		{"close/code 5000", validRequest + "\r\n", closeCode(5000), expect{status: 101, close: 1002}},
		{"close/code 65535", validRequest + "\r\n", closeCode(65535), expect{status: 101, close: 1002}},
		{"close/reason invalid utf8", validRequest + "\r\n", closeFrame([]byte{3, 232, 'o', 0xc0}), expect{status: 101, close: 1007}},
		{"close/126 bytes", validRequest + "\r\n", closeFrame(append([]byte{3, 232}, repeat('r', 124)...)), expect{status: 101, close: 1002}},
		{"close/then data ignored", validRequest + "\r\n", frames(closeCode(1000), text("ignored")), expect{status: 101, close: 1000}},
		{"close/reason 123 bytes", validRequest + "\r\n", closeFrame(append([]byte{3, 232}, repeat('r', 123)...)), expect{status: 101, close: 1000}},
	}
	if len(cases) < 60 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			// Handshake and frames go out in one write, so the frames
			// arrive in the bytes net/http buffered with the request.
			if _, err := nc.Write(append([]byte(tc.req), tc.frames...)); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(nc)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("reading response: %v", err)
			}
			if resp.StatusCode != tc.want.status {
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, bytes.TrimSpace(body), tc.want.status)
			}
			for k, v := range tc.want.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if tc.want.noHeader != "" && resp.Header.Get(tc.want.noHeader) != "" {
				t.Errorf("header %s = %q, want none", tc.want.noHeader, resp.Header.Get(tc.want.noHeader))
			}
			if resp.StatusCode != 101 {
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
				if n := bytes.Count(body, []byte("\n")); n != 1 || len(body) < 5 {
					t.Errorf("rejection body %q is not one line", body)
				}
				return
			}
			for i, want := range tc.want.echo {
				h, p := readServerFrame(t, br)
				if h.Opcode != tc.want.echoOps[i] || !bytes.Equal(p, want) {
					t.Fatalf("frame %d = %v %q, want %v %q", i, h.Opcode, trunc(p), tc.want.echoOps[i], trunc(want))
				}
			}
			if tc.want.close < 0 {
				// The connection stays open: a ping is answered.
				nc.Write(rawFrame(true, 0, frame.OpPing, true, []byte("alive")))
				h, p := readServerFrame(t, br)
				if h.Opcode != frame.OpPong || string(p) != "alive" {
					t.Fatalf("after the case: %v %q, want pong \"alive\"", h.Opcode, p)
				}
				return
			}
			h, p := readServerFrame(t, br)
			if h.Opcode != frame.OpClose {
				t.Fatalf("got %v frame %q, want close %d", h.Opcode, trunc(p), tc.want.close)
			}
			if tc.want.close == 0 {
				if len(p) != 0 {
					t.Fatalf("close payload %v, want empty", p)
				}
			} else if len(p) < 2 || int(binary.BigEndian.Uint16(p)) != tc.want.close {
				t.Fatalf("close payload %v, want code %d", p, tc.want.close)
			}
			// The server closes the TCP connection after the close
			// (RFC 6455 §7.1.1); we answer a failing close to let it.
			nc.Write(closeCode(1000))
			if _, err := io.Copy(io.Discard, br); err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
				t.Fatalf("waiting for the server to close TCP: %v", err)
			}
		})
	}
}

func isReset(err error) bool { return err != nil && strings.Contains(err.Error(), "connection reset") }

func trunc(p []byte) string {
	if len(p) > 20 {
		return fmt.Sprintf("%q…(%d bytes)", p[:20], len(p))
	}
	return fmt.Sprintf("%q", p)
}

// readServerFrame reads one frame sent by a server, which must be unmasked.
func readServerFrame(t *testing.T, r io.Reader) (frame.Header, []byte) {
	t.Helper()
	var scratch [frame.MaxHeaderSize]byte
	h, err := frame.ReadHeader(r, &scratch)
	if err != nil {
		t.Fatalf("reading frame header: %v", err)
	}
	if h.Masked {
		t.Fatalf("server frame is masked (RFC 6455 §5.1)")
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatalf("reading frame payload: %v", err)
	}
	return h, p
}
