package handshake

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestNewConnectRequest(t *testing.T) {
	opts := &ClientOptions{
		Protocols:  []string{"chat", "superchat"},
		Extensions: []Extension{{Name: "permessage-deflate", Params: []Param{{Name: "client_max_window_bits"}}}},
		Header: http.Header{
			"Origin":                 {"https://example.com"},
			"Host":                   {"other.example:8443"},
			"Sec-Websocket-Key":      {"ignored"},
			"Sec-Websocket-Accept":   {"ignored"},
			"Upgrade":                {"websocket"},
			"connection":             {"Upgrade"},
			"Keep-Alive":             {"timeout=5"},
			"Proxy-Connection":       {"keep-alive"},
			"Te":                     {"trailers"},
			"Transfer-Encoding":      {"chunked"},
			"Content-Length":         {"0"},
			"Sec-Websocket-Protocol": {"ignored"},
			"x-custom":               {"1", "2"},
		},
	}
	req, err := NewConnectRequest(mustURL(t, "wss://example.com:8443/chat?room=1"), opts)
	if err != nil {
		t.Fatalf("NewConnectRequest = %v, want nil", err)
	}
	if req.Method != "CONNECT" || req.ProtoMajor != 2 || req.Body != nil {
		t.Errorf("NewConnectRequest = %s %s (body %v), want CONNECT over HTTP/2 without a body", req.Method, req.Proto, req.Body)
	}
	if got, want := req.URL.String(), "https://example.com:8443/chat?room=1"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	if req.Host != "other.example:8443" {
		t.Errorf("Host = %q, want the Host entry %q", req.Host, "other.example:8443")
	}
	want := http.Header{
		":protocol":                {"websocket"},
		"Sec-Websocket-Version":    {"13"},
		"Sec-Websocket-Protocol":   {"chat, superchat"},
		"Sec-Websocket-Extensions": {"permessage-deflate; client_max_window_bits"},
		"Origin":                   {"https://example.com"},
		"X-Custom":                 {"1", "2"},
	}
	if !reflect.DeepEqual(req.Header, want) {
		t.Errorf("Header = %v, want %v", req.Header, want)
	}
	// No options, no path: "/" and no Host.
	req, err = NewConnectRequest(mustURL(t, "wss://example.com"), nil)
	if err != nil || req.URL.Path != "/" || req.Host != "" || len(req.Header) != 2 {
		t.Errorf("NewConnectRequest(wss://example.com, nil) = %v %q, %v; want path \"/\", no Host and 2 header fields", req.URL, req.Host, err)
	}
}

func TestNewConnectRequestInvalid(t *testing.T) {
	tests := []struct {
		name, url string
		opts      *ClientOptions
		reason    string
	}{
		{"ws scheme", "ws://example.com/", nil, `needs a wss:// URL, got scheme "ws"`},
		{"no host", "wss:///x", nil, "has no host"},
		{"fragment", "wss://example.com/#f", nil, "must not have a fragment"},
		{"protocol not a token", "wss://example.com/", &ClientOptions{Protocols: []string{"a b"}}, `subprotocol "a b" is not a token`},
		{"protocol twice", "wss://example.com/", &ClientOptions{Protocols: []string{"a", "a"}}, `subprotocol "a" offered twice`},
		{"bad extension", "wss://example.com/", &ClientOptions{Extensions: []Extension{{Name: "a b"}}}, "is not valid"},
		{"pseudo-header", "wss://example.com/", &ClientOptions{Header: http.Header{":path": {"/x"}}}, `request header name ":path" is not a token`},
		{"control character", "wss://example.com/", &ClientOptions{Header: http.Header{"X": {"a\nb"}}}, "control character"},
		{"bad Host entry", "wss://example.com/", &ClientOptions{Header: http.Header{"Host": {"a b"}}}, `Host header "a b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			req, err := NewConnectRequest(u, tt.opts)
			re, ok := asType[*ResponseError](err)
			if req != nil || !ok || re.StatusCode != 0 || !strings.Contains(re.Reason, tt.reason) {
				t.Fatalf("NewConnectRequest(%q) = %v, %v, want a *ResponseError containing %q", tt.url, req, err, tt.reason)
			}
		})
	}
	if _, err := NewConnectRequest(&url.URL{Scheme: "wss", Host: "exa mple.com"}, nil); err == nil || !strings.Contains(err.Error(), "is not a valid authority") {
		t.Errorf("NewConnectRequest(host \"exa mple.com\") = %v, want \"is not a valid authority\"", err)
	}
	if _, err := NewConnectRequest(nil, nil); err == nil {
		t.Errorf("NewConnectRequest(nil URL) = nil error, want one")
	}
}

func TestCheckConnectResponse(t *testing.T) {
	opts := &ClientOptions{
		Protocols:  []string{"a", "b"},
		Extensions: []Extension{{Name: "permessage-deflate"}},
	}
	tests := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		wantProto  string
		wantExts   []Extension
		wantReason string // "" for success
	}{
		{name: "200, nothing agreed", status: 200},
		{name: "204 is 2xx", status: 204},
		{name: "subprotocol and extension", status: 200,
			header:    http.Header{"Sec-Websocket-Protocol": {" b "}, "Sec-Websocket-Extensions": {"permessage-deflate; server_no_context_takeover"}},
			wantProto: "b", wantExts: []Extension{{Name: "permessage-deflate", Params: []Param{{Name: "server_no_context_takeover"}}}}},
		{name: "refused", status: 403, body: strings.Repeat("x", 2000), wantReason: "server refused the WebSocket over HTTP/2 with status 403 Forbidden"},
		{name: "101 is no answer over HTTP/2", status: 101, wantReason: "with status 101"},
		{name: "subprotocol not offered", status: 200, header: http.Header{"Sec-Websocket-Protocol": {"c"}}, wantReason: `server chose subprotocol "c"`},
		{name: "two subprotocols", status: 200, header: http.Header{"Sec-Websocket-Protocol": {"a", "b"}}, wantReason: "appears 2 times"},
		{name: "extension not offered", status: 200, header: http.Header{"Sec-Websocket-Extensions": {"x-foo"}}, wantReason: `server accepted extension "x-foo"`},
		{name: "extension twice", status: 200, header: http.Header{"Sec-Websocket-Extensions": {"permessage-deflate, permessage-deflate"}}, wantReason: "twice"},
		{name: "malformed extension", status: 200, header: http.Header{"Sec-Websocket-Extensions": {"permessage-deflate;"}}, wantReason: "Sec-WebSocket-Extensions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Status: strconv.Itoa(tt.status) + " " + http.StatusText(tt.status), Header: tt.header, Body: io.NopCloser(strings.NewReader(tt.body))}
			if resp.Header == nil {
				resp.Header = http.Header{}
			}
			res, err := CheckConnectResponse(resp, opts)
			if tt.wantReason == "" {
				if err != nil || res.Protocol != tt.wantProto || !reflect.DeepEqual(res.Extensions, tt.wantExts) || res.Response != resp {
					t.Fatalf("CheckConnectResponse = %+v, %v, want protocol %q, extensions %v", res, err, tt.wantProto, tt.wantExts)
				}
				return
			}
			re, ok := asType[*ResponseError](err)
			if res != nil || !ok || re.StatusCode != tt.status || !strings.Contains(re.Reason, tt.wantReason) {
				t.Fatalf("CheckConnectResponse = %+v, %v, want a *ResponseError with status %d containing %q", res, err, tt.status, tt.wantReason)
			}
			if wantBody := min(len(tt.body), maxErrorBody); len(re.Body) != wantBody {
				t.Errorf("ResponseError.Body has %d bytes, want %d", len(re.Body), wantBody)
			}
		})
	}
}

func TestWriteConnectResponse(t *testing.T) {
	w := httptest.NewRecorder()
	WriteConnectResponse(w, "chat", "permessage-deflate", http.Header{
		"Set-Cookie":           {"a=1"},
		"Sec-Websocket-Accept": {"nope"},
		"Upgrade":              {"websocket"},
		"Connection":           {"Upgrade"},
		"Content-Length":       {"0"},
		"Transfer-Encoding":    {"chunked"},
		"Keep-Alive":           {"timeout=5"},
		"Proxy-Connection":     {"x"},
		"Te":                   {"trailers"},
		"Bad Name":             {"x"},
		"X-Bad-Value":          {"a\r\nInjected: 1"},
	})
	if w.Code != http.StatusOK {
		t.Errorf("status = %d, want 200 (RFC 8441 §5)", w.Code)
	}
	want := http.Header{
		"Sec-Websocket-Protocol":   {"chat"},
		"Sec-Websocket-Extensions": {"permessage-deflate"},
		"Set-Cookie":               {"a=1"},
	}
	if got := w.Result().Header; !reflect.DeepEqual(got, want) {
		t.Errorf("header = %v, want %v", got, want)
	}
	w = httptest.NewRecorder()
	WriteConnectResponse(w, "not a token", "bad\nvalue", nil)
	if len(w.Result().Header) != 0 {
		t.Errorf("header = %v, want none for an invalid protocol and extensions", w.Result().Header)
	}
}

// TestReservedFields checks the one table against each handshake message:
// what a caller may add and what the handshake keeps to itself.
func TestReservedFields(t *testing.T) {
	tests := []struct {
		field string
		in    message
	}{
		{"Host", h1Request | h2Request},
		{"Upgrade", everyMsg},
		{"Connection", everyMsg},
		{"Sec-Websocket-Key", h1Request | h2Request},
		{"Sec-Websocket-Version", h1Request | h2Request},
		{"Sec-Websocket-Accept", everyMsg},
		{"Sec-Websocket-Protocol", everyMsg},
		{"Sec-Websocket-Extensions", everyMsg},
		{"Content-Length", everyMsg},
		{"Transfer-Encoding", everyMsg},
		{"Keep-Alive", h2Request | h2Response},
		{"Proxy-Connection", h2Request | h2Response},
		{"Te", h2Request | h2Response},
		{"Origin", 0},
		{"Cookie", 0},
	}
	for _, tt := range tests {
		for _, m := range []message{h1Request, h1Response, h2Request, h2Response} {
			if got, want := reserved(tt.field, m), tt.in&m != 0; got != want {
				t.Errorf("reserved(%q, %b) = %v, want %v", tt.field, m, got, want)
			}
		}
	}
}
