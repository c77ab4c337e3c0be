package handshake_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/pushwire/pushwire/handshake"
)

func ExampleAcceptKey() {
	// The key of RFC 6455 §1.3.
	fmt.Println(handshake.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="))
	// Output: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
}

func ExampleParseExtensions() {
	h := http.Header{}
	h.Add("Sec-WebSocket-Extensions", `permessage-deflate; client_max_window_bits="10",permessage-deflate`)
	h.Add("Sec-WebSocket-Extensions", "x-webkit-deflate-frame")
	exts, err := handshake.ParseExtensions(h)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range exts {
		bits, ok := e.Param("client_max_window_bits")
		fmt.Printf("%s: client_max_window_bits=%q %v\n", e.Name, bits, ok)
	}
	fmt.Println(handshake.FormatExtensions(exts))

	h.Set("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits=")
	_, err = handshake.ParseExtensions(h)
	fmt.Println(err)
	// Output:
	// permessage-deflate: client_max_window_bits="10" true
	// permessage-deflate: client_max_window_bits="" false
	// x-webkit-deflate-frame: client_max_window_bits="" false
	// permessage-deflate; client_max_window_bits=10, permessage-deflate, x-webkit-deflate-frame
	// handshake: malformed header: Sec-WebSocket-Extensions: missing value after "=" of parameter "client_max_window_bits" at byte 43 of "permessage-deflate; client_max_window_bits="
}

func ExampleCheckRequest() {
	handler := func(w http.ResponseWriter, r *http.Request) {
		req, err := handshake.CheckRequest(r)
		if err == nil {
			err = handshake.CheckOrigin(r, []string{"https://*.example.org"})
		}
		if err != nil {
			handshake.Reject(w, err)
			return
		}
		protocol := handshake.SelectProtocol(req.Protocols, []string{"v2.chat", "chat"})
		// A real server hijacks the connection here and writes
		// handshake.AppendResponse(nil, req.Key, protocol, "", nil).
		fmt.Fprintf(w, "would upgrade with subprotocol %q\n", protocol)
	}

	for _, raw := range []string{
		"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: https://app.example.org\r\n" +
			"Sec-WebSocket-Protocol: chat, v2.chat\r\nSec-WebSocket-Version: 13\r\n\r\n",
		"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
		"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: https://evil.example\r\nSec-WebSocket-Version: 13\r\n\r\n",
	} {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			fmt.Println(err)
			return
		}
		w := httptest.NewRecorder()
		handler(w, r)
		fmt.Printf("%d %s", w.Code, w.Body)
	}
	// Output:
	// 200 would upgrade with subprotocol "v2.chat"
	// 426 Sec-WebSocket-Version must be 13, got "8"
	// 403 Origin "https://evil.example" is not allowed for Host "server.example.com"
}

func ExampleAppendResponse() {
	b := handshake.AppendResponse(nil, "dGhlIHNhbXBsZSBub25jZQ==", "chat", "", nil)
	fmt.Print(strings.ReplaceAll(string(b), "\r\n", "\n"))
	// Output:
	// HTTP/1.1 101 Switching Protocols
	// Upgrade: websocket
	// Connection: Upgrade
	// Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
	// Sec-WebSocket-Protocol: chat
}

func ExampleCheckOrigin() {
	r := httptest.NewRequest("GET", "http://chat.example.com/ws", nil)
	for _, origin := range []string{"https://chat.example.com", "https://evil.example", "https://app.example.org"} {
		r.Header.Set("Origin", origin)
		fmt.Printf("nil patterns: %v\n", handshake.CheckOrigin(r, nil))
		fmt.Printf("*.example.org: %v\n", handshake.CheckOrigin(r, []string{"*.example.org"}))
	}
	// Output:
	// nil patterns: <nil>
	// *.example.org: <nil>
	// nil patterns: handshake: 403 Forbidden: Origin "https://evil.example" is not allowed for Host "chat.example.com"
	// *.example.org: handshake: 403 Forbidden: Origin "https://evil.example" is not allowed for Host "chat.example.com"
	// nil patterns: handshake: 403 Forbidden: Origin "https://app.example.org" is not allowed for Host "chat.example.com"
	// *.example.org: <nil>
}
