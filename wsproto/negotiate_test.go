package wsproto

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/wsproto/frame"
)

func parseExtensions(t testing.TB, value string) []handshake.Extension {
	exts, err := handshake.ParseExtensions(http.Header{"Sec-Websocket-Extensions": {value}})
	if err != nil {
		t.Fatalf("ParseExtensions(%q) = %v", value, err)
	}
	return exts
}

// acceptCases are Sec-WebSocket-Extensions offers and the response the
// server gives with default options ("" when it declines them all).
var acceptCases = []struct {
	name, offer, want string
}{
	{"plain", "permessage-deflate", "permessage-deflate"},
	{"browser", "permessage-deflate; client_max_window_bits", "permessage-deflate"},
	{"name-case", "PerMessage-Deflate", "permessage-deflate"},
	{"server-no-context", "permessage-deflate; server_no_context_takeover", "permessage-deflate; server_no_context_takeover"},
	{"client-no-context", "permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover"},
	{"both-no-context", "permessage-deflate; client_no_context_takeover; server_no_context_takeover", "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
	{"server-window-15", "permessage-deflate; server_max_window_bits=15", "permessage-deflate; server_max_window_bits=15"},
	{"server-window-quoted", `permessage-deflate; server_max_window_bits="15"`, "permessage-deflate; server_max_window_bits=15"},
	{"client-window-values", "permessage-deflate; client_max_window_bits=8", "permessage-deflate"},
	{"client-window-15", "permessage-deflate; client_max_window_bits=15", "permessage-deflate"},
	// Any window: the encoder keeps to it.
	{"server-window-10", "permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_max_window_bits=10"},
	{"server-window-10-first", "permessage-deflate; server_max_window_bits=10, permessage-deflate", "permessage-deflate; server_max_window_bits=10"},
	// RFC 7692 §7.1: malformed offers are declined, not fatal.
	{"unknown-param", "permessage-deflate; foo", ""},
	{"unknown-then-good", "permessage-deflate; foo, permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover"},
	{"duplicate", "permessage-deflate; server_no_context_takeover; server_no_context_takeover", ""},
	{"duplicate-case", "permessage-deflate; client_max_window_bits; Client_Max_Window_Bits=9", ""},
	{"no-context-with-value", "permessage-deflate; server_no_context_takeover=1", ""},
	{"server-window-no-value", "permessage-deflate; server_max_window_bits", ""},
	{"window-7", "permessage-deflate; client_max_window_bits=7", ""},
	{"window-16", "permessage-deflate; client_max_window_bits=16", ""},
	{"window-leading-zero", "permessage-deflate; server_max_window_bits=015", ""},
	{"window-not-number", "permessage-deflate; client_max_window_bits=x", ""},
	{"other-extension", "x-webkit-deflate-frame", ""},
	{"other-then-deflate", "x-webkit-deflate-frame, permessage-deflate", "permessage-deflate"},
	{"none", "", ""},
}

// TestAcceptDeflate checks the server's choice and response for offers
// (RFC 7692 §7.1).
func TestAcceptDeflate(t *testing.T) {
	for _, tc := range acceptCases {
		t.Run(tc.name, func(t *testing.T) {
			resp, _, ok := acceptDeflate(parseExtensions(t, tc.offer), &CompressionOptions{})
			got := ""
			if ok {
				got = resp.String()
			}
			if got != tc.want {
				t.Fatalf("acceptDeflate(%q) = %q, want %q", tc.offer, got, tc.want)
			}
		})
	}
}

// TestAcceptDeflateOptions: server options add no-context-takeover, and
// the window the offer asks for is the one the server compresses with.
func TestAcceptDeflateOptions(t *testing.T) {
	for _, tc := range []struct {
		name, offer string
		opts        CompressionOptions
		want        string
		params      deflateParams
	}{
		{"impose-server", "permessage-deflate", CompressionOptions{ServerNoContextTakeover: true},
			"permessage-deflate; server_no_context_takeover", deflateParams{threshold: 128, writeBits: 15, readBits: 15, writeNoContext: true}},
		{"impose-client", "permessage-deflate", CompressionOptions{ClientNoContextTakeover: true, Threshold: -1},
			"permessage-deflate; client_no_context_takeover", deflateParams{threshold: -1, writeBits: 15, readBits: 15, readNoContext: true}},
		{"small-window", "permessage-deflate; server_max_window_bits=9", CompressionOptions{},
			"permessage-deflate; server_max_window_bits=9", deflateParams{threshold: 128, writeBits: 9, readBits: 15}},
		{"window-8", "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8", CompressionOptions{},
			"permessage-deflate; server_max_window_bits=8", deflateParams{threshold: 128, writeBits: 8, readBits: 15}},
		// RFC 7692 §7.1.2.2: client_max_window_bits in the response only
		// when offered, never above the offer's value.
		{"ask-client-window", "permessage-deflate; client_max_window_bits", CompressionOptions{ClientMaxWindowBits: 10},
			"permessage-deflate; client_max_window_bits=10", deflateParams{threshold: 128, writeBits: 15, readBits: 10}},
		{"ask-client-window-not-offered", "permessage-deflate", CompressionOptions{ClientMaxWindowBits: 10},
			"permessage-deflate", deflateParams{threshold: 128, writeBits: 15, readBits: 15}},
		{"ask-client-window-offer-smaller", "permessage-deflate; client_max_window_bits=9", CompressionOptions{ClientMaxWindowBits: 12},
			"permessage-deflate; client_max_window_bits=9", deflateParams{threshold: 128, writeBits: 15, readBits: 9}},
		{"ask-client-window-offer-larger", "permessage-deflate; client_max_window_bits=12; server_max_window_bits=11", CompressionOptions{ClientMaxWindowBits: 8},
			"permessage-deflate; server_max_window_bits=11; client_max_window_bits=8", deflateParams{threshold: 128, writeBits: 11, readBits: 8}},
		{"ask-client-window-invalid", "permessage-deflate; client_max_window_bits", CompressionOptions{ClientMaxWindowBits: 16},
			"permessage-deflate", deflateParams{threshold: 128, writeBits: 15, readBits: 15}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, p, ok := acceptDeflate(parseExtensions(t, tc.offer), &tc.opts)
			if !ok || resp.String() != tc.want || p != tc.params {
				t.Fatalf("acceptDeflate(%q) = %q, %+v, %v, want %q, %+v", tc.offer, resp, p, ok, tc.want, tc.params)
			}
		})
	}
}

// TestCheckDeflateResponse checks the client's verdict on responses to
// its offer (RFC 7692 §7.1).
func TestCheckDeflateResponse(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     CompressionOptions
		response string
		want     deflateParams
		wantErr  string
	}{
		{"plain", CompressionOptions{}, "permessage-deflate", deflateParams{threshold: 128, writeBits: 15, readBits: 15}, ""},
		{"server-no-context-unasked", CompressionOptions{}, "permessage-deflate; server_no_context_takeover", deflateParams{threshold: 128, writeBits: 15, readBits: 15, readNoContext: true}, ""},
		{"client-no-context-imposed", CompressionOptions{}, "permessage-deflate; client_no_context_takeover", deflateParams{threshold: 128, writeBits: 15, readBits: 15, writeNoContext: true}, ""},
		{"client-no-context-offered", CompressionOptions{ClientNoContextTakeover: true}, "permessage-deflate", deflateParams{threshold: 128, writeBits: 15, readBits: 15, writeNoContext: true}, ""},
		{"server-window-any", CompressionOptions{}, "permessage-deflate; server_max_window_bits=8", deflateParams{threshold: 128, writeBits: 15, readBits: 8}, ""},
		{"client-window-15", CompressionOptions{}, "permessage-deflate; client_max_window_bits=15", deflateParams{threshold: 128, writeBits: 15, readBits: 15}, ""},
		{"client-window-10", CompressionOptions{}, "permessage-deflate; client_max_window_bits=10", deflateParams{threshold: 128, writeBits: 10, readBits: 15}, ""},
		{"client-window-8", CompressionOptions{}, "permessage-deflate; client_max_window_bits=8", deflateParams{threshold: 128, writeBits: 8, readBits: 15}, ""},
		{"unknown", CompressionOptions{}, "permessage-deflate; foo=bar", deflateParams{}, "unknown parameter"},
		{"duplicate", CompressionOptions{}, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", deflateParams{}, "appears twice"},
		{"server-window-no-value", CompressionOptions{}, "permessage-deflate; server_max_window_bits", deflateParams{}, "want 8 to 15"},
		{"server-window-16", CompressionOptions{}, "permessage-deflate; server_max_window_bits=16", deflateParams{}, "want 8 to 15"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			offer := deflateOffer(&tc.opts)
			got, err := checkDeflateResponse(parseExtensions(t, tc.response)[0], offer, &tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("checkDeflateResponse(%q) = %+v, %v, want error with %q", tc.response, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("checkDeflateResponse(%q) = %+v, %v, want %+v", tc.response, got, err, tc.want)
			}
		})
	}
}

// TestDialRejectsBadDeflateResponse: Dial fails the handshake when the
// server's permessage-deflate response breaks RFC 7692 §7.1.
func TestDialRejectsBadDeflateResponse(t *testing.T) {
	for _, resp := range []string{
		"permessage-deflate; client_max_window_bits=7",
		"permessage-deflate; server_max_window_bits=7",
		"permessage-deflate; bogus",
	} {
		t.Run(resp, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			done := make(chan struct{})
			go func() {
				defer close(done)
				nc, err := ln.Accept()
				if err != nil {
					return
				}
				defer nc.Close()
				req, err := http.ReadRequest(bufio.NewReader(nc))
				if err != nil {
					return
				}
				nc.Write(handshake.AppendResponse(nil, req.Header.Get("Sec-WebSocket-Key"), "", resp, nil))
				io.Copy(io.Discard, nc)
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, _, err := Dial(ctx, "ws://"+ln.Addr().String()+"/", &DialOptions{Compression: &CompressionOptions{}})
			if err == nil {
				c.CloseNow()
				t.Fatalf("Dial with response %q succeeded, want an error", resp)
			}
			ln.Close()
			<-done
		})
	}
}

// FuzzNegotiate runs the server's negotiation on arbitrary offers and the
// client's check on arbitrary responses. Properties: whatever the server
// answers is a response the client accepts for the offer the server chose,
// with mirror-image parameters, and survives formatting and parsing; the
// client never accepts a window it cannot honour or a parameter twice.
func FuzzNegotiate(f *testing.F) {
	for _, tc := range acceptCases {
		f.Add(tc.offer, false, false)
	}
	f.Add("permessage-deflate; server_max_window_bits=10", true, true)
	f.Fuzz(func(t *testing.T, header string, serverNoContext, clientNoContext bool) {
		exts, err := handshake.ParseExtensions(http.Header{"Sec-Websocket-Extensions": {header}})
		if err != nil {
			return
		}
		opts := &CompressionOptions{ServerNoContextTakeover: serverNoContext, ClientNoContextTakeover: clientNoContext}

		// The client's side on the header as a response.
		for _, e := range exts {
			for _, copts := range []*CompressionOptions{{}, opts} {
				p, err := checkDeflateResponse(e, deflateOffer(copts), copts)
				if err != nil {
					continue
				}
				cfg, perr := parseDeflate(e, true)
				if perr != nil {
					t.Fatalf("client accepted %q: %v, %+v", e, perr, cfg)
				}
				// The window the response gives each direction is the
				// one used (RFC 7692 §7.1.2.1, §7.1.2.2).
				if p.writeBits != windowOr15(cfg.clientMaxWindow) || p.readBits != windowOr15(cfg.serverMaxWindow) {
					t.Fatalf("client accepted %q with windows %d (sent), %d (received)", e, p.writeBits, p.readBits)
				}
				if p.writeNoContext != (cfg.clientNoContext || copts.ClientNoContextTakeover) || p.readNoContext != cfg.serverNoContext {
					t.Fatalf("client params %+v for response %q", p, e)
				}
			}
		}

		// The server's side on the header as offers.
		resp, sp, ok := acceptDeflate(exts, opts)
		if !ok {
			return
		}
		var chosen *handshake.Extension
		for i, e := range exts {
			if !strings.EqualFold(e.Name, extDeflate) {
				continue
			}
			cfg, err := parseDeflate(e, false)
			if err != nil {
				continue // declined
			}
			chosen = &exts[i]
			// The server compresses within the window the offer asks
			// for (RFC 7692 §7.1.2.1), and inflates any (15 bits).
			if sp.writeBits != windowOr15(cfg.serverMaxWindow) || sp.readBits != 15 {
				t.Fatalf("acceptDeflate(%q) chose windows %d (sent), %d (received) for %q", header, sp.writeBits, sp.readBits, e)
			}
			break
		}
		if chosen == nil {
			t.Fatalf("acceptDeflate(%q) accepted %q, but no offer is acceptable", header, resp)
		}
		reparsed, err := handshake.ParseExtensions(http.Header{"Sec-Websocket-Extensions": {handshake.FormatExtensions([]handshake.Extension{resp})}})
		if err != nil || len(reparsed) != 1 || reparsed[0].String() != resp.String() {
			t.Fatalf("response %q does not survive formatting: %v %v", resp, reparsed, err)
		}
		cp, err := checkDeflateResponse(reparsed[0], *chosen, &CompressionOptions{})
		if err != nil {
			t.Fatalf("client rejects server's response %q to %q: %v", resp, chosen, err)
		}
		if cp.writeNoContext != sp.readNoContext || cp.readNoContext != sp.writeNoContext {
			t.Fatalf("offer %q, response %q: server %+v, client %+v disagree on context takeover", chosen, resp, sp, cp)
		}
	})
}

// inflateTail follows a payload into compress/flate: the 00 00 ff ff of
// RFC 7692 §7.2.2, then an empty final stored block.
var inflateTail = [...]byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// FuzzInflate feeds an arbitrary compressed payload, split into two
// frames around a ping, to a server with permessage-deflate and compares
// the message and close code with compress/flate reading the same
// payload directly (RFC 7692 §7.2.2).
func FuzzInflate(f *testing.F) {
	f.Add([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, uint16(3))
	f.Add([]byte{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}, uint16(0))
	f.Add([]byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}, uint16(8))
	f.Add([]byte{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}, uint16(5))
	f.Add([]byte{0x00}, uint16(1))
	f.Add([]byte{0x07, 0x00}, uint16(1))
	f.Add(compressRaw(f, bytes.Repeat([]byte("abc"), 30000), 9), uint16(40))
	f.Add(compressRaw(f, jsonLike(70000, 1), 1), uint16(1000))
	const limit = 64 << 10
	f.Fuzz(func(t *testing.T, payload []byte, split uint16) {
		// The reference: RFC 7692 §7.2.2 with compress/flate alone.
		ref := flate.NewReader(io.MultiReader(bytes.NewReader(payload), bytes.NewReader(inflateTail[:])))
		want, refErr := io.ReadAll(io.LimitReader(ref, limit+1))
		wantCode := -1
		switch {
		case len(want) > limit:
			wantCode = 1009
		case refErr != nil:
			wantCode = 1007
		}

		k := int(split) % (len(payload) + 1)
		in := frames(rawFrame(false, frame.Rsv1, frame.OpBinary, true, payload[:k]), rawFrame(true, 0, frame.OpPing, true, []byte("p")),
			rawFrame(true, 0, frame.OpContinuation, true, payload[k:]), closeCode(1000))
		pc := &pipeConn{r: bytes.NewReader(in)}
		c := newConn(pc, connConfig{readLimit: limit, closeTimeout: time.Second, deflate: &deflateParams{readNoContext: true}})
		typ, got, err := c.Read(context.Background(), nil)
		if wantCode == -1 {
			if err != nil || typ != MessageBinary || !bytes.Equal(got, want) {
				t.Fatalf("Read(% x) = %v, %d bytes, %v; reference %d bytes", payload, typ, len(got), err, len(want))
			}
			if _, _, err := c.Read(context.Background(), nil); frame.CloseStatus(err) != frame.CloseNormal {
				t.Fatalf("after the message: %v, want the peer's close 1000", err)
			}
			return
		}
		if err == nil {
			t.Fatalf("Read(% x) = %d bytes, reference fails (%d, %v)", payload, len(got), wantCode, refErr)
		}
		sent := lastClose(t, pc.w.Bytes())
		if sent != wantCode {
			t.Fatalf("Read(% x): sent close %d (%v), reference %d (%v)", payload, sent, err, wantCode, refErr)
		}
		if wantCode == 1007 && !errors.Is(err, ErrInvalidCompressed) {
			t.Fatalf("Read(% x) = %v, want ErrInvalidCompressed", payload, err)
		}
	})
}
