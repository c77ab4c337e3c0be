package fuzz

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/pushwire/pushwire/handshake"
)

// refStatus restates RFC 6455 §4.2.1 and §4.2.2 over net/http's parse of
// a request: the status a server answers, 101 when the handshake is valid.
// known is false where the rule depends on a grammar this reference does
// not restate (the Host authority, the extension header), so that only
// the rest is compared.
func refStatus(r *http.Request) (status int, known bool) {
	if r.Method != http.MethodGet {
		return 405, true
	}
	if !r.ProtoAtLeast(1, 1) {
		return 400, true
	}
	if r.Host == "" {
		return 400, true
	}
	if !simpleHost(r.Host) {
		return 0, false
	}
	hasToken := func(name, token string) bool {
		for _, line := range r.Header.Values(name) {
			for _, t := range strings.Split(line, ",") {
				if strings.EqualFold(strings.Trim(t, " \t"), token) {
					return true
				}
			}
		}
		return false
	}
	if !hasToken("Upgrade", "websocket") || !hasToken("Connection", "upgrade") {
		return 400, true
	}
	if v := r.Header.Values("Sec-WebSocket-Version"); len(v) != 1 || strings.Trim(v[0], " \t") != "13" {
		return 426, true
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return 400, true
	}
	key := strings.Trim(keys[0], " \t")
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != 16 || len(key) != 24 {
		return 400, true
	}
	for _, line := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(line, ",") {
			if p = strings.Trim(p, " \t"); p != "" && !isToken(p) {
				return 400, true
			}
		}
	}
	if len(r.Header.Values("Sec-WebSocket-Extensions")) > 0 {
		return 0, false
	}
	return 101, true
}

// simpleHost reports whether h is a plain name or IPv4 address with an
// optional port, for which every reading agrees the Host is valid.
func simpleHost(h string) bool {
	name, port, found := strings.Cut(h, ":")
	if name == "" || (found && (port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "")) {
		return false
	}
	return strings.Trim(strings.ToLower(name), "abcdefghijklmnopqrstuvwxyz0123456789.-") == ""
}

// isToken reports whether s is an RFC 9110 §5.6.2 token.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// FuzzHandshakeRequest parses raw request bytes with net/http, as a
// server does, and compares handshake.CheckRequest with refStatus.
func FuzzHandshakeRequest(f *testing.F) {
	base := "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	for _, seed := range []string{
		base + "\r\n",
		base + "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n",
		base + "Sec-WebSocket-Protocol: chat superchat\r\n\r\n",
		strings.Replace(base, "13", "8", 1) + "\r\n",
		strings.Replace(base, "Upgrade\r\n", "keep-alive, upgrade\r\n", 1) + "\r\n",
		strings.Replace(base, "GET", "POST", 1) + "\r\n",
		strings.Replace(base, "HTTP/1.1", "HTTP/1.0", 1) + "\r\n",
		strings.Replace(base, "dGhlIHNhbXBsZSBub25jZQ==", "AQIDBAUGBwgJCgsMDQ4PEC==", 1) + "\r\n",
		base + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
		base + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return // net/http would answer 400 before any handler runs
		}
		want, known := refStatus(r)
		req, err := handshake.CheckRequest(r)
		got := 101
		if err != nil {
			var re *handshake.RejectError
			if !errors.As(err, &re) {
				t.Fatalf("CheckRequest error %v is not a *RejectError", err)
			}
			got = re.Status
			if strings.ContainsAny(re.Reason, "\r\n") || re.Reason == "" {
				t.Fatalf("rejection reason %q is not one line", re.Reason)
			}
		} else if req.Key == "" {
			t.Fatalf("CheckRequest accepted a request without a key")
		}
		if known && got != want {
			t.Fatalf("CheckRequest status %d, reference %d, for\n%q", got, want, raw)
		}
	})
}
