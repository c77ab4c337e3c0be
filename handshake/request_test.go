package handshake

import (
	"bufio"
	"encoding/base64"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// rfcRequest is the client handshake of RFC 6455 §1.3.
const rfcRequest = "GET /chat HTTP/1.1\r\n" +
	"Host: server.example.com\r\n" +
	"Upgrade: websocket\r\n" +
	"Connection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Origin: http://example.com\r\n" +
	"Sec-WebSocket-Protocol: chat, superchat\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"\r\n"

// minimal returns a valid minimal handshake with the field lines that start
// with one of the prefixes in drop removed and the lines in add appended.
func minimal(drop string, add ...string) string {
	lines := []string{
		"Host: server.example.com",
		"Upgrade: websocket",
		"Connection: Upgrade",
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
		"Sec-WebSocket-Version: 13",
	}
	var b strings.Builder
	b.WriteString("GET /chat HTTP/1.1\r\n")
	for _, l := range lines {
		if drop != "" && strings.HasPrefix(l, drop) {
			continue
		}
		b.WriteString(l + "\r\n")
	}
	for _, l := range add {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

const rfcKey = "dGhlIHNhbXBsZSBub25jZQ=="

var checkRequestTests = []struct {
	name   string
	raw    string
	status int      // 0: accepted
	reason string   // for a rejection
	want   *Request // for an acceptance
}{
	// Accepted.
	{name: "RFC 6455 §1.3 example", raw: rfcRequest,
		want: &Request{Key: rfcKey, Protocols: []string{"chat", "superchat"}, Origin: "http://example.com"}},
	{name: "minimal", raw: minimal(""), want: &Request{Key: rfcKey}},
	{name: "tokens in any case", raw: "GET / HTTP/1.1\r\n" +
		"Host: h\r\n" +
		"Upgrade: WebSocket\r\n" +
		"Connection: keep-alive, UPGRADE\r\n" +
		"Sec-WebSocket-Key: " + rfcKey + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"\r\n",
		want: &Request{Key: rfcKey}},
	{name: "Upgrade list", raw: minimal("Upgrade", "Upgrade: h2c, websocket"), want: &Request{Key: rfcKey}},
	{name: "Connection on two lines", raw: minimal("Connection", "Connection: keep-alive", "Connection: upgrade"),
		want: &Request{Key: rfcKey}},
	{name: "extensions on two lines",
		raw: minimal("", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits", "Sec-WebSocket-Extensions: x-foo"),
		want: &Request{Key: rfcKey, Extensions: []Extension{
			{Name: "permessage-deflate", Params: []Param{{"client_max_window_bits", ""}}}, {Name: "x-foo"}}}},
	{name: "protocols on two lines", raw: minimal("", "Sec-WebSocket-Protocol: a", "Sec-WebSocket-Protocol: b, c"),
		want: &Request{Key: rfcKey, Protocols: []string{"a", "b", "c"}}},
	{name: "absolute-form target without Host line",
		raw:  strings.Replace(minimal("Host"), "GET /chat", "GET http://server.example.com/chat", 1),
		want: &Request{Key: rfcKey}},
	{name: "RFC 6455 §4.1 example key with padding bits set",
		raw:  minimal("Sec-WebSocket-Key", "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEC=="),
		want: &Request{Key: "AQIDBAUGBwgJCgsMDQ4PEC=="}},
	{name: "whitespace around values", raw: minimal("Sec-WebSocket", "Sec-WebSocket-Key: \t"+rfcKey+" ", "Sec-WebSocket-Version:  13 "),
		want: &Request{Key: rfcKey}},
	{name: "body is not checked", raw: minimal("", "Content-Length: 5") + "hello",
		want: &Request{Key: rfcKey}},
	{name: "IPv6 Host with port", raw: minimal("Host", "Host: [::1]:8080"), want: &Request{Key: rfcKey}},
	{name: "HTTP/1.2", raw: strings.Replace(minimal(""), "HTTP/1.1", "HTTP/1.2", 1), want: &Request{Key: rfcKey}},

	// Method and version.
	{name: "POST", raw: strings.Replace(minimal(""), "GET", "POST", 1), status: 405, reason: `method must be GET, got "POST"`},
	{name: "HEAD", raw: strings.Replace(minimal(""), "GET", "HEAD", 1), status: 405, reason: `method must be GET, got "HEAD"`},
	{name: "lower-case get", raw: strings.Replace(minimal(""), "GET", "get", 1), status: 405, reason: `method must be GET, got "get"`},
	{name: "HTTP/1.0", raw: strings.Replace(minimal(""), "HTTP/1.1", "HTTP/1.0", 1), status: 400,
		reason: `HTTP version must be at least 1.1, got "HTTP/1.0"`},

	// Host.
	{name: "missing Host", raw: minimal("Host"), status: 400, reason: "missing Host header"},
	{name: "Host with space", raw: minimal("Host", "Host: a b"), status: 400, reason: `Host header "a b" is not a valid authority`},
	{name: "Host with userinfo", raw: minimal("Host", "Host: u@h"), status: 400, reason: `Host header "u@h" is not a valid authority`},
	{name: "Host with bad port", raw: minimal("Host", "Host: h:x"), status: 400, reason: `Host header "h:x" is not a valid authority`},

	// Upgrade and Connection.
	{name: "missing Upgrade", raw: minimal("Upgrade"), status: 400,
		reason: `missing Upgrade header, want one containing "websocket"`},
	{name: "Upgrade h2c", raw: minimal("Upgrade", "Upgrade: h2c"), status: 400,
		reason: `Upgrade header must contain "websocket", got "h2c"`},
	{name: "Upgrade websocket2", raw: minimal("Upgrade", "Upgrade: websocket2"), status: 400,
		reason: `Upgrade header must contain "websocket", got "websocket2"`},
	{name: "Upgrade with Kelvin sign", raw: minimal("Upgrade", "Upgrade: websoc\u212aet"), status: 400,
		reason: "Upgrade header must contain \"websocket\", got \"websoc\u212aet\""},
	{name: "missing Connection", raw: minimal("Connection"), status: 400,
		reason: `missing Connection header, want one containing "Upgrade"`},
	{name: "Connection keep-alive", raw: minimal("Connection", "Connection: keep-alive"), status: 400,
		reason: `Connection header must contain "Upgrade", got "keep-alive"`},
	{name: "Connection on two lines without upgrade", raw: minimal("Connection", "Connection: a", "Connection: b"), status: 400,
		reason: `Connection header must contain "Upgrade", got "a, b"`},

	// Sec-WebSocket-Version.
	{name: "missing version", raw: minimal("Sec-WebSocket-Version"), status: 426,
		reason: "missing Sec-WebSocket-Version header, want 13"},
	{name: "version 8", raw: minimal("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8"), status: 426,
		reason: `Sec-WebSocket-Version must be 13, got "8"`},
	{name: "version list", raw: minimal("Sec-WebSocket-Version", "Sec-WebSocket-Version: 13, 8"), status: 426,
		reason: `Sec-WebSocket-Version must be 13, got "13, 8"`},
	{name: "version 13.0", raw: minimal("Sec-WebSocket-Version", "Sec-WebSocket-Version: 13.0"), status: 426,
		reason: `Sec-WebSocket-Version must be 13, got "13.0"`},
	{name: "version twice", raw: minimal("", "Sec-WebSocket-Version: 13"), status: 426,
		reason: "Sec-WebSocket-Version header appears 2 times, want once with 13"},
	{name: "version checked before key", raw: minimal("Sec-WebSocket", "Sec-WebSocket-Version: 8"), status: 426,
		reason: `Sec-WebSocket-Version must be 13, got "8"`},

	// Sec-WebSocket-Key.
	{name: "missing key", raw: minimal("Sec-WebSocket-Key"), status: 400, reason: "missing Sec-WebSocket-Key header"},
	{name: "key twice", raw: minimal("", "Sec-WebSocket-Key: "+rfcKey), status: 400,
		reason: "Sec-WebSocket-Key header appears 2 times, must appear once"},
	{name: "empty key", raw: minimal("Sec-WebSocket-Key", "Sec-WebSocket-Key:"), status: 400,
		reason: "Sec-WebSocket-Key is empty, must be base64 of 16 bytes"},
	{name: "key of 12 bytes", raw: minimal("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAA"), status: 400,
		reason: "Sec-WebSocket-Key must be base64 of 16 bytes, got 12"},
	{name: "key of 17 bytes", raw: minimal("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA="), status: 400,
		reason: "Sec-WebSocket-Key must be base64 of 16 bytes, got 17"},
	{name: "key without padding", raw: minimal("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ"), status: 400,
		reason: `Sec-WebSocket-Key "dGhlIHNhbXBsZSBub25jZQ" is not base64 (RFC 4648 §4, padded)`},
	{name: "key in URL alphabet", raw: minimal("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ-_="), status: 400,
		reason: `Sec-WebSocket-Key "dGhlIHNhbXBsZSBub25jZ-_=" is not base64 (RFC 4648 §4, padded)`},
	{name: "key with inner space", raw: minimal("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBs ZSBub25jZQ=="), status: 400,
		reason: `Sec-WebSocket-Key "dGhlIHNhbXBs ZSBub25jZQ==" is not base64 (RFC 4648 §4, padded)`},
	{name: "key too long", raw: minimal("Sec-WebSocket-Key", "Sec-WebSocket-Key: "+strings.Repeat("A", 100)), status: 400,
		reason: "Sec-WebSocket-Key must be base64 of 16 bytes, got a 100-character value"},

	// Offers.
	{name: "malformed protocol", raw: minimal("", "Sec-WebSocket-Protocol: chat, a b"), status: 400,
		reason: `malformed Sec-WebSocket-Protocol: element "a b" is not a token in "chat, a b"`},
	{name: "malformed extension", raw: minimal("", "Sec-WebSocket-Extensions: permessage-deflate;"), status: 400,
		reason: `malformed Sec-WebSocket-Extensions: missing parameter name after ";" at byte 19 of "permessage-deflate;"`},
	{name: "extension with empty quoted value", raw: minimal("", `Sec-WebSocket-Extensions: x; a=""`), status: 400,
		reason: `malformed Sec-WebSocket-Extensions: quoted value "" of parameter "a" is not a token at byte 5 of "x; a=\"\""`},
}

func readRequest(t testing.TB, raw string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("http.ReadRequest(%q): %v", raw, err)
	}
	return r
}

func TestCheckRequest(t *testing.T) {
	for _, tt := range checkRequestTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckRequest(readRequest(t, tt.raw))
			if tt.status == 0 {
				if err != nil || !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("CheckRequest(%q) = %+v, %v, want %+v", tt.raw, got, err, tt.want)
				}
				return
			}
			re, ok := asType[*RejectError](err)
			if got != nil || !ok || re.Status != tt.status || re.Reason != tt.reason {
				t.Fatalf("CheckRequest(%q) = %+v, %v, want *RejectError %d %q", tt.raw, got, err, tt.status, tt.reason)
			}
			switch tt.status {
			case 405:
				if a := re.Header.Get("Allow"); a != "GET" {
					t.Errorf("CheckRequest(%q) Allow = %q, want %q", tt.raw, a, "GET")
				}
			case 426:
				if v := re.Header.Values("Sec-WebSocket-Version"); len(v) != 1 || v[0] != "13" {
					t.Errorf("CheckRequest(%q) Sec-WebSocket-Version = %q, want [\"13\"]", tt.raw, v)
				}
			}
		})
	}
}

func TestCheckRequestBuilt(t *testing.T) {
	// A request built with http.NewRequest rather than read from the wire.
	r, _ := http.NewRequest(http.MethodGet, "http://example.com/ws", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Key", rfcKey)
	r.Header.Set("Sec-WebSocket-Version", "13")
	if _, err := CheckRequest(r); err != nil {
		t.Errorf("CheckRequest(http.NewRequest) = %v, want nil", err)
	}
}

func FuzzCheckRequest(f *testing.F) {
	for _, tt := range checkRequestTests {
		f.Add([]byte(tt.raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(string(raw))))
		if err != nil {
			return // not HTTP as net/http reads it: not ours to judge
		}
		req, err := CheckRequest(r)
		if err != nil {
			re, ok := asType[*RejectError](err)
			if !ok || req != nil {
				t.Fatalf("CheckRequest(%q) = %v, %v, want a *RejectError", raw, req, err)
			}
			switch re.Status {
			case 400, 405, 426:
			default:
				t.Fatalf("CheckRequest(%q) status %d, want 400, 405 or 426", raw, re.Status)
			}
			if re.Reason == "" || strings.ContainsAny(re.Reason, "\r\n") || len(re.Reason) > 400 {
				t.Fatalf("CheckRequest(%q) reason %q is not one short line", raw, re.Reason)
			}
			return
		}
		// Invariants of an accepted handshake.
		if r.Method != "GET" || !r.ProtoAtLeast(1, 1) || r.Host == "" ||
			!HeaderHasToken(r.Header, "Upgrade", "websocket") || !HeaderHasToken(r.Header, "Connection", "upgrade") {
			t.Fatalf("CheckRequest(%q) accepted a request that breaks §4.2.1 items 1-4", raw)
		}
		if v := r.Header.Values("Sec-WebSocket-Version"); len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
			t.Fatalf("CheckRequest(%q) accepted Sec-WebSocket-Version %q", raw, v)
		}
		if k, err := base64.StdEncoding.DecodeString(req.Key); err != nil || len(k) != 16 || len(req.Key) != 24 ||
			len(r.Header.Values("Sec-WebSocket-Key")) != 1 {
			t.Fatalf("CheckRequest(%q) accepted key %q", raw, req.Key)
		}
		for _, p := range req.Protocols {
			if !isToken(p) {
				t.Fatalf("CheckRequest(%q) accepted protocol %q", raw, p)
			}
		}
		// The server's answer to it satisfies this package's client: the
		// first protocol offered, the first offer of each extension.
		protocol := ""
		if len(req.Protocols) > 0 {
			protocol = req.Protocols[0]
		}
		var exts []Extension
	next:
		for _, e := range req.Extensions {
			for _, prev := range exts {
				if asciiEqualFold(prev.Name, e.Name) {
					continue next
				}
			}
			exts = append(exts, e)
		}
		wire := AppendResponse(nil, req.Key, protocol, FormatExtensions(exts), nil)
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(wire))), r)
		if err != nil {
			t.Fatalf("http.ReadResponse(%q): %v", wire, err)
		}
		opts := ClientOptions{Protocols: req.Protocols, Extensions: req.Extensions}
		gotProtocol, gotExts, reason := checkResponse(resp, req.Key, &opts)
		if reason != "" || gotProtocol != protocol || !reflect.DeepEqual(gotExts, exts) {
			t.Fatalf("checkResponse(%q) = %q, %v, %q, want %q, %v", wire, gotProtocol, gotExts, reason, protocol, exts)
		}
	})
}

func BenchmarkCheckRequest(b *testing.B) {
	r := readRequest(b, minimal("", "Origin: http://server.example.com", "Sec-WebSocket-Protocol: chat, superchat",
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CheckRequest(r); err != nil {
			b.Fatal(err)
		}
		if err := CheckOrigin(r, nil); err != nil {
			b.Fatal(err)
		}
	}
}
