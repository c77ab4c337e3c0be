package handshake

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
)

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", s, err)
	}
	return u
}

var keyLineRE = regexp.MustCompile(`(?m)^Sec-WebSocket-Key: ([A-Za-z0-9+/]{22}==)\r$`)

// scripted is a connection that records what the client writes and, on the
// first Read, answers with respond(key) where key is the Sec-WebSocket-Key
// the client sent, delivered through chunk.
type scripted struct {
	t       testing.TB
	written bytes.Buffer
	writes  int
	respond func(key string) string
	chunk   func(io.Reader) io.Reader
	r       io.Reader
}

func (s *scripted) Write(p []byte) (int, error) {
	s.writes++
	return s.written.Write(p)
}

func (s *scripted) Read(p []byte) (int, error) {
	if s.r == nil {
		m := keyLineRE.FindStringSubmatch(s.written.String())
		if m == nil {
			s.t.Fatalf("no Sec-WebSocket-Key line in request %q", s.written.String())
		}
		s.r = s.chunk(strings.NewReader(s.respond(m[1])))
	}
	return s.r.Read(p)
}

// accepted is a valid 101 response for key with the given extra lines.
func accepted(key string, lines ...string) string {
	s := "HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + AcceptKey(key) + "\r\n"
	for _, l := range lines {
		s += l + "\r\n"
	}
	return s + "\r\n"
}

func TestClientHandshakeRequest(t *testing.T) {
	const k = "KEY"
	const fixed = "Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: KEY\r\n" +
		"Sec-WebSocket-Version: 13\r\n"
	tests := []struct {
		name string
		url  string
		opts ClientOptions
		want string
	}{
		{"bare", "ws://example.com", ClientOptions{},
			"GET / HTTP/1.1\r\nHost: example.com\r\n" + fixed + "\r\n"},
		{"path and query", "ws://example.com/chat?room=1&x=%20", ClientOptions{},
			"GET /chat?room=1&x=%20 HTTP/1.1\r\nHost: example.com\r\n" + fixed + "\r\n"},
		{"escaped path", "ws://example.com/a%20b/c%2Fd", ClientOptions{},
			"GET /a%20b/c%2Fd HTTP/1.1\r\nHost: example.com\r\n" + fixed + "\r\n"},
		{"ws default port dropped", "ws://example.com:80/", ClientOptions{},
			"GET / HTTP/1.1\r\nHost: example.com\r\n" + fixed + "\r\n"},
		{"wss default port dropped", "wss://example.com:443/", ClientOptions{},
			"GET / HTTP/1.1\r\nHost: example.com\r\n" + fixed + "\r\n"},
		{"ws on 443 keeps port", "ws://example.com:443/", ClientOptions{},
			"GET / HTTP/1.1\r\nHost: example.com:443\r\n" + fixed + "\r\n"},
		{"IPv6 with port", "wss://[::1]:8443/", ClientOptions{},
			"GET / HTTP/1.1\r\nHost: [::1]:8443\r\n" + fixed + "\r\n"},
		{"IPv6 default port", "wss://[::1]:443/", ClientOptions{},
			"GET / HTTP/1.1\r\nHost: [::1]\r\n" + fixed + "\r\n"},
		{"upper-case scheme", "WSS://example.com/", ClientOptions{},
			"GET / HTTP/1.1\r\nHost: example.com\r\n" + fixed + "\r\n"},
		{"offers", "ws://example.com/", ClientOptions{
			Protocols: []string{"chat", "superchat"},
			Extensions: []Extension{
				{Name: "permessage-deflate", Params: []Param{{"client_max_window_bits", ""}}},
				{Name: "permessage-deflate"},
			},
		}, "GET / HTTP/1.1\r\nHost: example.com\r\n" + fixed +
			"Sec-WebSocket-Protocol: chat, superchat\r\n" +
			"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, permessage-deflate\r\n" +
			"\r\n"},
		{"extra headers sorted, own ignored, Host override", "ws://example.com/", ClientOptions{Header: http.Header{
			"Origin":                 {"http://example.com"},
			"Cookie":                 {"a=1"},
			"host":                   {"proxy.example.net:8080"},
			"Upgrade":                {"h2c"},
			"Sec-WebSocket-Key":      {"forged"},
			"Sec-Websocket-Version":  {"8"},
			"Sec-WebSocket-Protocol": {"x"},
			"Content-Length":         {"5"},
		}}, "GET / HTTP/1.1\r\nHost: proxy.example.net:8080\r\n" + fixed +
			"Cookie: a=1\r\nOrigin: http://example.com\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := mustURL(t, tt.url)
			before := *u
			wire, req, err := buildRequest(u, &tt.opts, k)
			if err != nil || string(wire) != tt.want {
				t.Fatalf("buildRequest(%q) = %q, %v, want %q", tt.url, wire, err, tt.want)
			}
			// What was sent parses as the same request, and passes the
			// server's check.
			parsed := readRequest(t, string(wire))
			if parsed.Host != req.Host || !reflect.DeepEqual(parsed.Header, req.Header) {
				t.Errorf("buildRequest(%q) request = %q %q, want what was sent: %q %q", tt.url, req.Host, req.Header, parsed.Host, parsed.Header)
			}
			if *u != before {
				t.Errorf("buildRequest modified the URL: %+v, want %+v", u, before)
			}
		})
	}
}

func TestClientHandshakeSendsValidRequest(t *testing.T) {
	s := &scripted{t: t, respond: func(key string) string { return accepted(key) }, chunk: func(r io.Reader) io.Reader { return r }}
	opts := ClientOptions{Protocols: []string{"chat"}, Header: http.Header{"Origin": {"http://example.com"}}}
	if _, err := ClientHandshake(s, bufio.NewReader(s), mustURL(t, "ws://example.com/chat"), &opts); err != nil {
		t.Fatalf("ClientHandshake: %v", err)
	}
	if s.writes != 1 {
		t.Errorf("ClientHandshake wrote the request in %d writes, want 1", s.writes)
	}
	r := readRequest(t, s.written.String())
	req, err := CheckRequest(r)
	if err != nil {
		t.Fatalf("CheckRequest(%q) = %v, want nil", s.written.String(), err)
	}
	if err := CheckOrigin(r, nil); err != nil {
		t.Errorf("CheckOrigin(%q) = %v, want nil", s.written.String(), err)
	}
	if !reflect.DeepEqual(req.Protocols, []string{"chat"}) {
		t.Errorf("offered protocols = %q, want [chat]", req.Protocols)
	}
}

func TestClientHandshakeInvalidInput(t *testing.T) {
	tests := []struct {
		name   string
		url    string
		opts   ClientOptions
		reason string
	}{
		{"http scheme", "http://example.com/", ClientOptions{}, `URL scheme must be ws or wss, got "http"`},
		{"no host", "ws:///path", ClientOptions{}, `URL "ws:///path" has no host`},
		{"opaque", "ws:example.com", ClientOptions{}, `URL "ws:example.com" has no host`},
		{"fragment", "ws://example.com/#frag", ClientOptions{}, "URL must not have a fragment (RFC 6455 §3)"},
		{"invalid Host override", "ws://example.com/", ClientOptions{Header: http.Header{"Host": {"a b"}}}, `Host header "a b" is not a valid authority`},
		{"protocol not a token", "ws://example.com/", ClientOptions{Protocols: []string{"a b"}}, `subprotocol "a b" is not a token`},
		{"empty protocol", "ws://example.com/", ClientOptions{Protocols: []string{""}}, `subprotocol "" is not a token`},
		{"protocol twice", "ws://example.com/", ClientOptions{Protocols: []string{"a", "b", "a"}}, `subprotocol "a" offered twice`},
		{"extension name", "ws://example.com/", ClientOptions{Extensions: []Extension{{Name: "a;b"}}},
			`extension offer "a;b" is not valid: names and values must be tokens`},
		{"extension value", "ws://example.com/", ClientOptions{Extensions: []Extension{{Name: "a", Params: []Param{{"b", "1 2"}}}}},
			`extension offer "a; b=\"1 2\"" is not valid: names and values must be tokens`},
		{"header value with CRLF", "ws://example.com/", ClientOptions{Header: http.Header{"X": {"a\r\nEvil: 1"}}},
			"request header X has a value with a control character"},
		{"header name", "ws://example.com/", ClientOptions{Header: http.Header{"X Y": {"1"}}},
			`request header name "X Y" is not a token`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w bytes.Buffer
			_, err := ClientHandshake(&w, bufio.NewReader(strings.NewReader("")), mustURL(t, tt.url), &tt.opts)
			re, ok := asType[*ResponseError](err)
			if !ok || re.StatusCode != 0 || re.Reason != tt.reason {
				t.Fatalf("ClientHandshake(%q) = %v, want *ResponseError %q", tt.url, err, tt.reason)
			}
			if w.Len() != 0 {
				t.Errorf("ClientHandshake(%q) wrote %q, want nothing", tt.url, w.String())
			}
		})
	}
	_, err := ClientHandshake(io.Discard, bufio.NewReader(strings.NewReader("")), nil, &ClientOptions{})
	if re, ok := asType[*ResponseError](err); !ok || re.Reason != "nil URL" {
		t.Errorf("ClientHandshake(nil URL) = %v, want *ResponseError \"nil URL\"", err)
	}
	_, err = ClientHandshake(io.Discard, nil, mustURL(t, "ws://h/"), &ClientOptions{})
	if re, ok := asType[*ResponseError](err); !ok || re.Reason != "nil connection or bufio.Reader" {
		t.Errorf("ClientHandshake(nil reader) = %v, want *ResponseError", err)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestClientHandshakeWriteError(t *testing.T) {
	_, err := ClientHandshake(failWriter{net.ErrClosed}, bufio.NewReader(strings.NewReader("")), mustURL(t, "ws://h/"), &ClientOptions{})
	re, ok := asType[*ResponseError](err)
	if !ok || re.StatusCode != 0 || !errors.Is(err, net.ErrClosed) {
		t.Errorf("ClientHandshake(failing writer) = %v, want *ResponseError wrapping net.ErrClosed", err)
	}
}

var clientOpts = ClientOptions{
	Protocols:  []string{"chat", "superchat"},
	Extensions: []Extension{{Name: "x-foo", Params: []Param{{"a", "1"}}}, {Name: "x-baz"}},
}

const leftover = "\x81\x05hello\x89\x00"

var clientResponseTests = []struct {
	name     string
	respond  func(key string) string
	protocol string      // on success
	exts     []Extension // on success
	rest     string      // bytes that must remain in br on success
	status   int         // ResponseError.StatusCode on failure
	reason   string      // ResponseError.Reason on failure ("" on success)
	body     string      // ResponseError.Body on failure
	header   http.Header // expected subset of ResponseError.Header on failure
	wrapped  error       // ResponseError unwraps to this
}{
	{name: "success", respond: func(k string) string {
		return accepted(k, "Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Extensions: x-foo; a=1")
	}, protocol: "chat", exts: []Extension{{Name: "x-foo", Params: []Param{{"a", "1"}}}}},
	{name: "success, leftover bytes stay in br", respond: func(k string) string { return accepted(k) + leftover },
		rest: leftover},
	{name: "success, nothing chosen", respond: func(k string) string { return accepted(k) }},
	{name: "success, header case and whitespace", respond: func(k string) string {
		return "HTTP/1.1 101 Whatever\r\nupgrade:  WebSocket \r\nCONNECTION: keep-alive, upgrade\r\n" +
			"sec-websocket-accept: " + AcceptKey(k) + "  \r\nSec-WebSocket-Extensions: x-baz\r\nSec-WebSocket-Extensions: X-FOO\r\n\r\n"
	}, exts: []Extension{{Name: "x-baz"}, {Name: "X-FOO"}}},
	{name: "success after interim responses", respond: func(k string) string {
		return "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + accepted(k) + leftover
	}, rest: leftover},

	{name: "protocol not offered", respond: func(k string) string { return accepted(k, "Sec-WebSocket-Protocol: other") },
		status: 101, reason: `server chose subprotocol "other", which the client did not offer`},
	{name: "protocol in other case", respond: func(k string) string { return accepted(k, "Sec-WebSocket-Protocol: Chat") },
		status: 101, reason: `server chose subprotocol "Chat", which the client did not offer`},
	{name: "empty protocol", respond: func(k string) string { return accepted(k, "Sec-WebSocket-Protocol: ") },
		status: 101, reason: `server chose subprotocol "", which the client did not offer`},
	{name: "protocol list", respond: func(k string) string { return accepted(k, "Sec-WebSocket-Protocol: chat, superchat") },
		status: 101, reason: `server chose subprotocol "chat, superchat", which the client did not offer`},
	{name: "protocol twice", respond: func(k string) string {
		return accepted(k, "Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: chat")
	}, status: 101, reason: "response Sec-WebSocket-Protocol header appears 2 times, must appear at most once"},
	{name: "bad accept", respond: func(k string) string {
		return strings.Replace(accepted(k), AcceptKey(k), AcceptKey("wrong"), 1)
	}, status: 101, reason: `response Sec-WebSocket-Accept "` + AcceptKey("wrong") + `" does not match the key, want "`},
	{name: "missing accept", respond: func(k string) string {
		return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
	}, status: 101, reason: "response has no Sec-WebSocket-Accept header"},
	{name: "accept twice", respond: func(k string) string { return accepted(k, "Sec-WebSocket-Accept: "+AcceptKey(k)) },
		status: 101, reason: "response Sec-WebSocket-Accept header appears 2 times, must appear once"},
	{name: "missing Upgrade", respond: func(k string) string { return strings.Replace(accepted(k), "Upgrade: websocket\r\n", "", 1) },
		status: 101, reason: "response has no Upgrade header"},
	{name: "Upgrade list", respond: func(k string) string {
		return strings.Replace(accepted(k), "Upgrade: websocket", "Upgrade: websocket, h2c", 1)
	}, status: 101, reason: `response Upgrade header must be "websocket", got "websocket, h2c"`},
	{name: "missing Connection", respond: func(k string) string {
		return strings.Replace(accepted(k), "Connection: Upgrade\r\n", "", 1)
	}, status: 101, reason: "response has no Connection header"},
	{name: "Connection keep-alive", respond: func(k string) string {
		return strings.Replace(accepted(k), "Connection: Upgrade", "Connection: keep-alive", 1)
	}, status: 101, reason: `response Connection header must contain "Upgrade", got "keep-alive"`},
	{name: "extension not offered", respond: func(k string) string { return accepted(k, "Sec-WebSocket-Extensions: x-bar") },
		status: 101, reason: `server accepted extension "x-bar", which the client did not offer`},
	{name: "extension twice", respond: func(k string) string {
		return accepted(k, "Sec-WebSocket-Extensions: x-foo", "Sec-WebSocket-Extensions: x-foo; a=1")
	}, status: 101, reason: `server accepted extension "x-foo" twice`},
	{name: "malformed extension", respond: func(k string) string { return accepted(k, "Sec-WebSocket-Extensions: x-foo; a=") },
		status: 101, reason: `response malformed Sec-WebSocket-Extensions: missing value after "=" of parameter "a" at byte 9 of "x-foo; a="`},
	{name: "HTTP/1.0 101", respond: func(k string) string { return strings.Replace(accepted(k), "HTTP/1.1", "HTTP/1.0", 1) },
		status: 101, reason: `101 response in "HTTP/1.0", want HTTP/1.1 or later`},

	{name: "403 with body", respond: func(string) string {
		return "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nX-Why: origin\r\nContent-Length: 7\r\n\r\nno way\n"
	}, status: 403, reason: "server answered 403 Forbidden, want 101 Switching Protocols", body: "no way\n",
		header: http.Header{"X-Why": {"origin"}, "Content-Type": {"text/plain"}}},
	{name: "403 with a long body", respond: func(string) string {
		return "HTTP/1.1 403 Forbidden\r\nContent-Length: 3000\r\n\r\n" + strings.Repeat("abc", 1000)
	}, status: 403, reason: "server answered 403 Forbidden, want 101 Switching Protocols", body: strings.Repeat("abc", 1000)[:1024]},
	{name: "302 chunked", respond: func(string) string {
		return "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nmoved\r\n0\r\n\r\n"
	}, status: 302, reason: "server answered 302 Found, want 101 Switching Protocols", body: "moved",
		header: http.Header{"Location": {"/elsewhere"}}},
	{name: "426 without body", respond: func(string) string {
		return "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n"
	}, status: 426, reason: "server answered 426 Upgrade Required, want 101 Switching Protocols",
		header: http.Header{"Sec-Websocket-Version": {"13"}}},
	{name: "body until EOF", respond: func(string) string { return "HTTP/1.0 400 Bad Request\r\n\r\nbye" },
		status: 400, reason: "server answered 400 Bad Request, want 101 Switching Protocols", body: "bye"},
	{name: "too many interim responses", respond: func(string) string {
		return strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 5)
	}, status: 100, reason: "server answered 100 Continue, want 101 Switching Protocols"},

	{name: "no response", respond: func(string) string { return "" },
		reason: "reading the response", wrapped: io.ErrUnexpectedEOF},
	{name: "truncated header", respond: func(string) string { return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" },
		reason: "reading the response", wrapped: io.ErrUnexpectedEOF},
	{name: "not HTTP", respond: func(string) string { return "SSH-2.0-OpenSSH_9.6\r\n" },
		reason: "reading the response"},
	{name: "header too large", respond: func(k string) string {
		return accepted(k, "X-Big: "+strings.Repeat("a", 70<<10))
	}, reason: "response header exceeds 64 KiB"},
	{name: "many header lines", respond: func(k string) string {
		return accepted(k, strings.Repeat("X: y\r\n", 20000))
	}, reason: "response header exceeds 64 KiB"},
}

// checkClientResult compares ClientHandshake's outcome with a
// clientResponseTests entry; br is the reader it used.
func checkClientResult(t *testing.T, name string, res *ClientResult, err error, br *bufio.Reader, i int) {
	t.Helper()
	tt := clientResponseTests[i]
	if tt.reason == "" {
		if err != nil {
			t.Fatalf("%s: ClientHandshake = %v, want success", name, err)
		}
		if res.Protocol != tt.protocol || !reflect.DeepEqual(res.Extensions, tt.exts) {
			t.Errorf("%s: ClientHandshake = %q, %v, want %q, %v", name, res.Protocol, res.Extensions, tt.protocol, tt.exts)
		}
		if res.Response.StatusCode != 101 || res.Response.Body != http.NoBody || res.Response.Request == nil {
			t.Errorf("%s: Response = %d, body %v, request %v; want 101, http.NoBody and the request", name,
				res.Response.StatusCode, res.Response.Body, res.Response.Request)
		}
		rest := make([]byte, len(tt.rest))
		if _, err := io.ReadFull(br, rest); err != nil || string(rest) != tt.rest {
			t.Errorf("%s: bytes after the response = %q, %v, want %q", name, rest, err, tt.rest)
		}
		return
	}
	re, ok := asType[*ResponseError](err)
	if !ok || res != nil {
		t.Fatalf("%s: ClientHandshake = %v, %v, want a *ResponseError", name, res, err)
	}
	if re.StatusCode != tt.status || !strings.HasPrefix(re.Reason, tt.reason) || string(re.Body) != tt.body {
		t.Errorf("%s: ResponseError = %d %q body %q, want %d %q body %q", name, re.StatusCode, re.Reason, re.Body, tt.status, tt.reason, tt.body)
	}
	if len(re.Body) > 1024 {
		t.Errorf("%s: ResponseError.Body has %d bytes, want at most 1024", name, len(re.Body))
	}
	for k, v := range tt.header {
		if got := re.Header[k]; !reflect.DeepEqual(got, v) {
			t.Errorf("%s: ResponseError.Header[%q] = %q, want %q", name, k, got, v)
		}
	}
	if tt.wrapped != nil && !errors.Is(err, tt.wrapped) {
		t.Errorf("%s: ClientHandshake error %v does not wrap %v", name, err, tt.wrapped)
	}
	if strings.ContainsAny(re.Reason, "\r\n") || !strings.HasPrefix(re.Error(), "handshake: "+re.Reason) {
		t.Errorf("%s: Reason %q / Error %q malformed", name, re.Reason, re.Error())
	}
}

var chunkers = []struct {
	name  string
	chunk func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"OneByteReader", iotest.OneByteReader},
	{"HalfReader", iotest.HalfReader},
	{"DataErrReader", iotest.DataErrReader},
}

func TestClientHandshakeResponses(t *testing.T) {
	for i, tt := range clientResponseTests {
		for _, c := range chunkers {
			t.Run(tt.name+"/"+c.name, func(t *testing.T) {
				s := &scripted{t: t, respond: tt.respond, chunk: c.chunk}
				for _, size := range []int{16, 4096} {
					s.r = nil
					s.written.Reset()
					br := bufio.NewReaderSize(s, size)
					res, err := ClientHandshake(s, br, mustURL(t, "ws://example.com/"), &clientOpts)
					checkClientResult(t, "bufio size "+strconv.Itoa(size), res, err, br, i)
				}
			})
		}
	}
}

// transportTests are the cases run over net.Pipe and over loopback TCP.
var transportTests = []string{
	"success",
	"success, leftover bytes stay in br",
	"protocol not offered",
	"bad accept",
	"403 with body",
	"403 with a long body",
	"extension not offered",
}

func clientTestIndex(t *testing.T, name string) int {
	for i, tt := range clientResponseTests {
		if tt.name == name {
			return i
		}
	}
	t.Fatalf("no client test %q", name)
	return -1
}

func TestClientHandshakePipe(t *testing.T) {
	for _, name := range transportTests {
		t.Run(name, func(t *testing.T) {
			i := clientTestIndex(t, name)
			client, server := net.Pipe()
			var wg sync.WaitGroup
			wg.Go(func() {
				defer server.Close()
				r, err := http.ReadRequest(bufio.NewReader(server))
				if err != nil {
					t.Errorf("server: http.ReadRequest: %v", err)
					return
				}
				req, err := CheckRequest(r)
				if err != nil {
					t.Errorf("server: CheckRequest: %v", err)
					return
				}
				// The write blocks until the client has read everything or
				// closed its end.
				io.WriteString(server, clientResponseTests[i].respond(req.Key))
			})
			defer wg.Wait()
			defer client.Close()
			br := bufio.NewReader(client)
			res, err := ClientHandshake(client, br, mustURL(t, "ws://example.com/"), &clientOpts)
			checkClientResult(t, name, res, err, br, i)
		})
	}
}

func TestClientHandshakeTCP(t *testing.T) {
	var current atomic.Pointer[func(key string) string]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := CheckRequest(r)
		if err == nil {
			err = CheckOrigin(r, nil)
		}
		if err != nil {
			Reject(w, err)
			return
		}
		if r.URL.Path == "/net-http-403" {
			// Refused by net/http's own response writer, chunked.
			w.Header().Set("X-Why", "origin")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, strings.Repeat("x", 3000))
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		io.WriteString(conn, (*current.Load())(req.Key))
	}))
	defer srv.Close()
	host := srv.Listener.Addr().String()

	dial := func(t *testing.T, path string, opts ClientOptions) (*ClientResult, *bufio.Reader, error) {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatalf("net.Dial: %v", err)
		}
		t.Cleanup(func() { conn.Close() })
		br := bufio.NewReader(conn)
		res, err := ClientHandshake(conn, br, mustURL(t, "ws://"+host+path), &opts)
		return res, br, err
	}

	for _, name := range transportTests {
		t.Run(name, func(t *testing.T) {
			i := clientTestIndex(t, name)
			current.Store(&clientResponseTests[i].respond)
			opts := clientOpts
			opts.Header = http.Header{"Origin": {"http://" + host}}
			res, br, err := dial(t, "/", opts)
			checkClientResult(t, name, res, err, br, i)
		})
	}
	t.Run("403 from net/http, body capped", func(t *testing.T) {
		_, _, err := dial(t, "/net-http-403", clientOpts)
		re, ok := asType[*ResponseError](err)
		if !ok || re.StatusCode != 403 || re.Header.Get("X-Why") != "origin" || string(re.Body) != strings.Repeat("x", 1024) {
			t.Fatalf("ClientHandshake = %v, want 403 with X-Why and 1024 bytes of body", err)
		}
	})
	t.Run("refused by Reject", func(t *testing.T) {
		opts := clientOpts
		opts.Header = http.Header{"Origin": {"https://evil.example"}}
		_, _, err := dial(t, "/", opts)
		re, ok := asType[*ResponseError](err)
		wantBody := `Origin "https://evil.example" is not allowed for Host "` + host + `"` + "\n"
		if !ok || re.StatusCode != 403 || string(re.Body) != wantBody ||
			re.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("ClientHandshake = %v (body %q), want 403 with body %q", err, re.Body, wantBody)
		}
	})
}

func BenchmarkClientHandshake(b *testing.B) {
	u := mustURL(b, "ws://example.com/chat")
	s := &scripted{t: b, respond: func(k string) string { return accepted(k, "Sec-WebSocket-Protocol: chat") },
		chunk: func(r io.Reader) io.Reader { return r }}
	br := bufio.NewReader(s)
	b.ReportAllocs()
	for b.Loop() {
		s.r = nil
		s.written.Reset()
		br.Reset(s)
		if _, err := ClientHandshake(s, br, u, &clientOpts); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzClientHandshake(f *testing.F) {
	// Seeds are the response table with the accept value replaced by a
	// placeholder, so that the fuzzer works on the shape of the response.
	const placeholder = "{accept}"
	const seedKey = "AAAAAAAAAAAAAAAAAAAAAA=="
	for _, tt := range clientResponseTests {
		f.Add(strings.ReplaceAll(tt.respond(seedKey), AcceptKey(seedKey), placeholder))
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var sent string
		s := &scripted{t: t, chunk: iotest.HalfReader, respond: func(key string) string {
			sent = strings.ReplaceAll(raw, placeholder, AcceptKey(key))
			return sent
		}}
		br := bufio.NewReaderSize(s, 64)
		res, err := ClientHandshake(s, br, mustURL(t, "ws://example.com/"), &clientOpts)
		if err != nil {
			re, ok := asType[*ResponseError](err)
			if !ok || res != nil {
				t.Fatalf("ClientHandshake(%q) = %v, %v, want a *ResponseError", sent, res, err)
			}
			if len(re.Body) > 1024 || re.Reason == "" || strings.ContainsAny(re.Reason, "\r\n") {
				t.Fatalf("ClientHandshake(%q) = %+v, want a one-line reason and at most 1 KiB of body", sent, re)
			}
			return
		}
		if res.Protocol != "" && !slices.Contains(clientOpts.Protocols, res.Protocol) {
			t.Fatalf("ClientHandshake(%q) accepted protocol %q", sent, res.Protocol)
		}
		for i, e := range res.Extensions {
			if !validExtension(e) || !slices.ContainsFunc(clientOpts.Extensions, func(o Extension) bool { return asciiEqualFold(o.Name, e.Name) }) ||
				slices.ContainsFunc(res.Extensions[:i], func(o Extension) bool { return asciiEqualFold(o.Name, e.Name) }) {
				t.Fatalf("ClientHandshake(%q) accepted extensions %v", sent, res.Extensions)
			}
		}
		// Exactly the response was consumed: net/http reads the consumed
		// prefix as the same final response with nothing left over.
		rest, _ := io.ReadAll(br)
		consumed := sent[:len(sent)-len(rest)]
		if !strings.HasSuffix(sent, string(rest)) {
			t.Fatalf("ClientHandshake(%q) left %q, not a suffix of the input", sent, rest)
		}
		ref := bufio.NewReader(strings.NewReader(consumed))
		var resp *http.Response
		for {
			resp, err = http.ReadResponse(ref, nil)
			if err != nil || resp.StatusCode/100 != 1 || resp.StatusCode == 101 {
				break
			}
		}
		if err != nil || resp.StatusCode != 101 || !reflect.DeepEqual(resp.Header, res.Response.Header) || ref.Buffered() != 0 {
			t.Fatalf("ClientHandshake(%q) consumed %q, which net/http reads as %v, %v", sent, consumed, resp, err)
		}
	})
}
