package handshake

import (
	"net/http"
	"testing"
)

func TestAppendResponse(t *testing.T) {
	const head = "HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	tests := []struct {
		name                 string
		dst                  string
		protocol, extensions string
		extra                http.Header
		want                 string
	}{
		{name: "RFC 6455 §1.3 example", protocol: "chat",
			want: head + "Sec-WebSocket-Protocol: chat\r\n\r\n"},
		{name: "bare", want: head + "\r\n"},
		{name: "appends to dst", dst: "xyz", want: "xyz" + head + "\r\n"},
		{name: "extensions", extensions: "permessage-deflate; server_no_context_takeover",
			want: head + "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n"},
		{name: "protocol and extensions", protocol: "chat", extensions: "x",
			want: head + "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: x\r\n\r\n"},
		{name: "protocol that is not a token left out", protocol: "chat\r\nSet-Cookie: a=b",
			want: head + "\r\n"},
		{name: "extensions with CRLF left out", extensions: "x\r\nSet-Cookie: a=b",
			want: head + "\r\n"},
		{name: "extra sorted, multi-valued",
			extra: http.Header{"Set-Cookie": {"a=1", "b=2"}, "X-Id": {"7"}, "Cache-Control": {"no-store"}},
			want:  head + "Cache-Control: no-store\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Id: 7\r\n\r\n"},
		{name: "extra own fields skipped", protocol: "chat",
			extra: http.Header{
				"Upgrade":                  {"h2c"},
				"connection":               {"close"},
				"Sec-Websocket-Accept":     {"forged"},
				"Sec-WebSocket-Protocol":   {"other"},
				"Sec-Websocket-Extensions": {"x"},
				"Content-Length":           {"0"},
				"Transfer-Encoding":        {"chunked"},
				"Server":                   {"pushwire"},
			},
			want: head + "Sec-WebSocket-Protocol: chat\r\nServer: pushwire\r\n\r\n"},
		{name: "extra bad values and names skipped",
			extra: http.Header{
				"X-A":   {"ok", "bad\r\nInjected: 1", "bad\n", "bad\x00", "tab\tok"},
				"Bad:":  {"v"},
				"B C":   {"v"},
				"":      {"v"},
				"X-Ünї": {"v"},
			},
			want: head + "X-A: ok\r\nX-A: tab\tok\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendResponse([]byte(tt.dst), "dGhlIHNhbXBsZSBub25jZQ==", tt.protocol, tt.extensions, tt.extra))
			if got != tt.want {
				t.Errorf("AppendResponse(%q, %q, %v) =\n%q\nwant\n%q", tt.protocol, tt.extensions, tt.extra, got, tt.want)
			}
		})
	}
}

func TestAppendResponseAllocs(t *testing.T) {
	buf := make([]byte, 0, 512)
	n := testing.AllocsPerRun(100, func() {
		AppendResponse(buf[:0], "dGhlIHNhbXBsZSBub25jZQ==", "chat", "permessage-deflate", nil)
	})
	if n != 0 {
		t.Errorf("AppendResponse with room in dst allocates %v times, want 0", n)
	}
}

func BenchmarkAppendResponse(b *testing.B) {
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendResponse(buf[:0], "dGhlIHNhbXBsZSBub25jZQ==", "chat", "permessage-deflate", nil)
	}
	b.SetBytes(int64(len(buf)))
}
