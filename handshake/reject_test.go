package handshake

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

func TestRejectErrorError(t *testing.T) {
	tests := []struct {
		name string
		err  *RejectError
		want string
	}{
		{"400", &RejectError{Status: 400, Reason: "missing Host header"}, "handshake: 400 Bad Request: missing Host header"},
		{"426", &RejectError{Status: 426, Reason: "x"}, "handshake: 426 Upgrade Required: x"},
		{"403", &RejectError{Status: 403, Reason: "y"}, "handshake: 403 Forbidden: y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("(%+v).Error() = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestReject(t *testing.T) {
	plain := http.Header{
		"Content-Type":           {"text/plain; charset=utf-8"},
		"X-Content-Type-Options": {"nosniff"},
	}
	with := func(kv ...string) http.Header {
		h := plain.Clone()
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantHeader http.Header
		wantBody   string
	}{
		{"400", &RejectError{Status: 400, Reason: "missing Host header"},
			400, plain, "missing Host header\n"},
		{"405 from CheckRequest", &RejectError{Status: 405, Reason: "method must be GET", Header: http.Header{"Allow": {"GET"}}},
			405, with("Allow", "GET"), "method must be GET\n"},
		{"405 without Allow gets one", &RejectError{Status: 405, Reason: "no"},
			405, with("Allow", "GET"), "no\n"},
		{"426 gets Sec-WebSocket-Version", &RejectError{Status: 426, Reason: "v"},
			426, with("Sec-Websocket-Version", "13"), "v\n"},
		{"426 version is ours", &RejectError{Status: 426, Reason: "v", Header: http.Header{"Sec-Websocket-Version": {"8"}}},
			426, with("Sec-Websocket-Version", "13"), "v\n"},
		{"wrapped", fmt.Errorf("accept: %w", &RejectError{Status: 403, Reason: "Origin \"x\" is not allowed"}),
			403, plain, "Origin \"x\" is not allowed\n"},
		{"extra headers, bad ones dropped", &RejectError{Status: 401, Reason: "auth", Header: http.Header{
			"www-authenticate": {"Basic realm=\"x\""},
			"X-Bad":            {"a\r\nSet-Cookie: evil=1"},
			"Bad Name":         {"v"},
			"Content-Type":     {"text/html"},
			"Content-Length":   {"999"},
		}}, 401, with("Www-Authenticate", "Basic realm=\"x\""), "auth\n"},
		{"CR LF in reason", &RejectError{Status: 400, Reason: "a\r\nb\x00c"},
			400, plain, "a  b c\n"},
		{"empty reason", &RejectError{Status: 403},
			403, plain, "Forbidden\n"},
		{"status 101 is not a refusal", &RejectError{Status: 101, Reason: "x"},
			400, plain, "x\n"},
		{"status 200 is not a refusal", &RejectError{Status: 200, Reason: "x"},
			400, plain, "x\n"},
		{"status 0", &RejectError{Reason: "x"},
			400, plain, "x\n"},
		{"malformed header", fmt.Errorf("parse: %w", &malformedError{field: "Sec-WebSocket-Extensions", detail: "bad"}),
			400, plain, "malformed Sec-WebSocket-Extensions: bad\n"},
		{"other ErrMalformed", fmt.Errorf("%w: Foo", ErrMalformed),
			400, plain, "malformed header: Foo\n"},
		{"bad origin pattern", CheckOrigin(readRequest(t, minimal("", "Origin: http://a")), []string{"["}),
			403, plain, "origin policy could not be evaluated\n"},
		{"other error", errors.New("database password is hunter2"),
			400, plain, "bad WebSocket handshake request\n"},
		{"nil", nil, 400, plain, "bad WebSocket handshake request\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			Reject(w, tt.err)
			if w.Code != tt.wantStatus {
				t.Errorf("Reject(%v) status = %d, want %d", tt.err, w.Code, tt.wantStatus)
			}
			if got := w.Header(); !reflect.DeepEqual(got, tt.wantHeader) {
				t.Errorf("Reject(%v) header = %q, want %q", tt.err, got, tt.wantHeader)
			}
			if got := w.Body.String(); got != tt.wantBody {
				t.Errorf("Reject(%v) body = %q, want %q", tt.err, got, tt.wantBody)
			}
		})
	}
}

// TestRejectEveryCheckRequestRefusal writes each refusal of the
// CheckRequest table and checks the response says the same as the error.
func TestRejectEveryCheckRequestRefusal(t *testing.T) {
	for _, tt := range checkRequestTests {
		if tt.status == 0 {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			_, err := CheckRequest(readRequest(t, tt.raw))
			w := httptest.NewRecorder()
			Reject(w, err)
			if w.Code != tt.status || w.Body.String() != tt.reason+"\n" {
				t.Errorf("Reject(%v) = %d %q, want %d %q", err, w.Code, w.Body.String(), tt.status, tt.reason+"\n")
			}
		})
	}
}
