package handshake

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// connectRequest builds an extended CONNECT request as net/http's HTTP/2
// server hands it to a handler.
func connectRequest(method string, major int, host string, h http.Header) *http.Request {
	r := &http.Request{Method: method, ProtoMajor: major, Proto: "HTTP/2.0", Host: host, Header: http.Header{}}
	if major == 1 {
		r.Proto, r.ProtoMinor = "HTTP/1.1", 1
	}
	for k, vs := range h {
		r.Header[k] = vs
	}
	return r
}

var checkConnectTests = []struct {
	name       string
	method     string
	major      int
	host       string
	header     http.Header
	want       *Request
	wantStatus int
	wantReason string
}{
	{
		name:   "minimal",
		method: "CONNECT", major: 2, host: "example.com",
		header: http.Header{":protocol": {"websocket"}, "Sec-Websocket-Version": {"13"}},
		want:   &Request{},
	},
	{
		name:   "protocols, extensions and origin",
		method: "CONNECT", major: 2, host: "example.com:8443",
		header: http.Header{
			":protocol":                {"websocket"},
			"Sec-Websocket-Version":    {"13"},
			"Sec-Websocket-Protocol":   {"chat, superchat"},
			"Sec-Websocket-Extensions": {"permessage-deflate; client_max_window_bits"},
			"Origin":                   {"https://example.com"},
		},
		want: &Request{
			Protocols:  []string{"chat", "superchat"},
			Extensions: []Extension{{Name: "permessage-deflate", Params: []Param{{Name: "client_max_window_bits"}}}},
			Origin:     "https://example.com",
		},
	},
	{
		name:   "protocol token case-insensitive",
		method: "CONNECT", major: 2, host: "example.com",
		header: http.Header{":protocol": {"WebSocket"}, "Sec-Websocket-Version": {"13"}},
		want:   &Request{},
	},
	{
		name:   "a key is ignored",
		method: "CONNECT", major: 2, host: "example.com",
		header: http.Header{":protocol": {"websocket"}, "Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {"bogus"}},
		want:   &Request{},
	},
	{
		name:   "HTTP/1.1",
		method: "CONNECT", major: 1, host: "example.com",
		header:     http.Header{":protocol": {"websocket"}, "Sec-Websocket-Version": {"13"}},
		wantStatus: 400, wantReason: "extended CONNECT needs HTTP/2 or later",
	},
	{
		name:   "GET over HTTP/2",
		method: "GET", major: 2, host: "example.com",
		header:     http.Header{"Sec-Websocket-Version": {"13"}},
		wantStatus: 405, wantReason: "method must be CONNECT",
	},
	{
		name:   "plain CONNECT",
		method: "CONNECT", major: 2, host: "example.com:443",
		header:     http.Header{"Sec-Websocket-Version": {"13"}},
		wantStatus: 400, wantReason: "missing :protocol pseudo-header",
	},
	{
		name:   "other protocol",
		method: "CONNECT", major: 2, host: "example.com",
		header:     http.Header{":protocol": {"webtransport"}, "Sec-Websocket-Version": {"13"}},
		wantStatus: 400, wantReason: `:protocol must be "websocket" (RFC 8441 §5), got "webtransport"`,
	},
	{
		name:   "no authority",
		method: "CONNECT", major: 2, host: "",
		header:     http.Header{":protocol": {"websocket"}, "Sec-Websocket-Version": {"13"}},
		wantStatus: 400, wantReason: "missing :authority",
	},
	{
		name:   "bad authority",
		method: "CONNECT", major: 2, host: "exa mple.com",
		header:     http.Header{":protocol": {"websocket"}, "Sec-Websocket-Version": {"13"}},
		wantStatus: 400, wantReason: "is not a valid authority",
	},
	{
		name:   "no version",
		method: "CONNECT", major: 2, host: "example.com",
		header:     http.Header{":protocol": {"websocket"}},
		wantStatus: 426, wantReason: "missing Sec-WebSocket-Version header, want 13",
	},
	{
		name:   "version 8",
		method: "CONNECT", major: 2, host: "example.com",
		header:     http.Header{":protocol": {"websocket"}, "Sec-Websocket-Version": {"8"}},
		wantStatus: 426, wantReason: `Sec-WebSocket-Version must be 13, got "8"`,
	},
	{
		name:   "malformed protocol list",
		method: "CONNECT", major: 2, host: "example.com",
		header:     http.Header{":protocol": {"websocket"}, "Sec-Websocket-Version": {"13"}, "Sec-Websocket-Protocol": {"a b"}},
		wantStatus: 400,
	},
	{
		name:   "malformed extension",
		method: "CONNECT", major: 2, host: "example.com",
		header:     http.Header{":protocol": {"websocket"}, "Sec-Websocket-Version": {"13"}, "Sec-Websocket-Extensions": {"permessage-deflate; =x"}},
		wantStatus: 400,
	},
}

func TestCheckConnect(t *testing.T) {
	for _, tt := range checkConnectTests {
		t.Run(tt.name, func(t *testing.T) {
			r := connectRequest(tt.method, tt.major, tt.host, tt.header)
			got, err := CheckConnect(r)
			if tt.wantStatus == 0 {
				if err != nil || !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("CheckConnect(%q) = %+v, %v, want %+v, nil", tt.name, got, err, tt.want)
				}
				return
			}
			re, ok := asType[*RejectError](err)
			if !ok || got != nil || re.Status != tt.wantStatus || !strings.Contains(re.Reason, tt.wantReason) {
				t.Fatalf("CheckConnect(%q) = %+v, %v, want a %d RejectError containing %q", tt.name, got, err, tt.wantStatus, tt.wantReason)
			}
			if tt.wantStatus == 405 && re.Header.Get("Allow") != "CONNECT" {
				t.Errorf("CheckConnect(%q) Allow = %q, want CONNECT", tt.name, re.Header.Get("Allow"))
			}
		})
	}
}

// FuzzCheckConnect compares CheckConnect with CheckRequest: an extended
// CONNECT carrying some WebSocket header fields is accepted exactly when
// the HTTP/1.1 upgrade carrying the same fields (plus Upgrade, Connection
// and a valid key) is, with the same result but for the key.
func FuzzCheckConnect(f *testing.F) {
	for _, tt := range checkConnectTests {
		f.Add(tt.header.Get(":protocol"), tt.header.Get("Sec-Websocket-Version"),
			tt.header.Get("Sec-Websocket-Protocol"), tt.header.Get("Sec-Websocket-Extensions"), tt.host)
	}
	f.Fuzz(func(t *testing.T, protocol, version, protocols, extensions, host string) {
		h := http.Header{}
		for k, v := range map[string]string{"Sec-Websocket-Version": version, "Sec-Websocket-Protocol": protocols, "Sec-Websocket-Extensions": extensions} {
			if v != "" {
				h[k] = []string{v}
			}
		}
		h1 := h.Clone()
		h1["Upgrade"] = []string{"websocket"}
		h1["Connection"] = []string{"Upgrade"}
		h1["Sec-Websocket-Key"] = []string{"dGhlIHNhbXBsZSBub25jZQ=="}
		r1 := &http.Request{Method: "GET", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Host: host, Header: h1}
		h2 := h.Clone()
		h2[":protocol"] = []string{protocol}
		r2 := connectRequest("CONNECT", 2, host, h2)

		want, err1 := CheckRequest(r1)
		got, err2 := CheckConnect(r2)
		if !strings.EqualFold(protocol, "websocket") {
			if err2 == nil {
				t.Fatalf("CheckConnect(:protocol %q) = nil error, want a RejectError", protocol)
			}
			return
		}
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("CheckConnect(%q) = %v, but CheckRequest of the same fields = %v", h2, err2, err1)
		}
		if err1 != nil {
			re1, _ := asType[*RejectError](err1)
			re2, ok := asType[*RejectError](err2)
			if !ok || re1 == nil || re1.Status != re2.Status {
				t.Fatalf("CheckConnect(%q) = %v, want the status of CheckRequest's %v", h2, err2, err1)
			}
			return
		}
		want.Key = ""
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("CheckConnect(%q) = %+v, want %+v", h2, got, want)
		}
	})
}
