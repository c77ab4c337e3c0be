package handshake

import (
	"errors"
	"net/http"
	"path"
	"strings"
	"testing"
)

func TestCheckOrigin(t *testing.T) {
	const (
		allow  = "allow"
		refuse = "refuse"  // *RejectError 403
		bad    = "pattern" // error wrapping path.ErrBadPattern
	)
	tests := []struct {
		name     string
		host     string
		origins  []string // Origin lines
		patterns []string
		want     string
	}{
		{"no Origin", "example.com", nil, nil, allow},
		{"same host", "example.com", []string{"https://example.com"}, nil, allow},
		{"same host and port", "example.com:8080", []string{"http://example.com:8080"}, nil, allow},
		{"same host, case differs", "Example.COM", []string{"https://example.com"}, nil, allow},
		{"scheme in upper case", "example.com", []string{"HTTPS://example.com"}, nil, allow},
		{"IPv6", "[::1]:8080", []string{"http://[::1]:8080"}, nil, allow},
		{"https default port on Host", "example.com:443", []string{"https://example.com"}, nil, allow},
		{"http default port on Host", "example.com:80", []string{"http://example.com"}, nil, allow},
		{"default port on Origin", "example.com", []string{"https://example.com:443"}, nil, allow},
		{"wss default port", "example.com:443", []string{"wss://example.com"}, nil, allow},
		{"https Origin, Host on port 80", "example.com:80", []string{"https://example.com"}, nil, refuse},
		{"other port", "example.com:8080", []string{"https://example.com"}, nil, refuse},
		{"other port on Origin", "example.com", []string{"https://example.com:8443"}, nil, refuse},
		{"unknown scheme has no default port", "example.com:80", []string{"foo://example.com"}, nil, refuse},
		{"cross-site", "example.com", []string{"https://evil.com"}, nil, refuse},
		{"suffix attack", "example.com", []string{"https://evilexample.com"}, nil, refuse},
		{"subdomain is another origin", "example.com", []string{"https://a.example.com"}, nil, refuse},
		{"Host is a subdomain", "a.example.com", []string{"https://example.com"}, nil, refuse},
		{"userinfo trick", "example.com", []string{"https://example.com@evil.com"}, nil, refuse},
		{"path", "example.com", []string{"https://example.com/"}, nil, refuse},
		{"query", "example.com", []string{"https://example.com?x"}, nil, refuse},
		{"fragment", "example.com", []string{"https://example.com#x"}, nil, refuse},
		{"percent-encoded host", "example.com", []string{"https://exa%6dple.com"}, nil, refuse},
		{"two Origin lines", "example.com", []string{"https://example.com", "https://example.com"}, nil, refuse},
		{"null refused", "example.com", []string{"null"}, nil, refuse},
		{"null refused by wildcard", "example.com", []string{"null"}, []string{"*"}, refuse},
		{"null listed", "example.com", []string{"null"}, []string{"null"}, allow},
		{"null listed in upper case", "example.com", []string{"null"}, []string{"NULL"}, allow},
		{"unparsable refused", "example.com", []string{"example.com"}, []string{"*"}, refuse},
		{"unparsable listed literally", "example.com", []string{"chrome-extension:abc"}, []string{"chrome-extension:abc"}, allow},
		{"empty Origin", "example.com", []string{""}, nil, refuse},
		{"Kelvin sign does not fold", "example.com", []string{"https://k.org"}, []string{"\u212a.org"}, refuse},
		{"empty Host", "", []string{"https://example.com"}, nil, refuse},

		{"host pattern", "example.com", []string{"https://app.example.org"}, []string{"app.example.org"}, allow},
		{"host pattern any scheme", "example.com", []string{"http://app.example.org"}, []string{"app.example.org"}, allow},
		{"wildcard subdomain", "example.com", []string{"https://a.example.org"}, []string{"*.example.org"}, allow},
		{"wildcard is case-insensitive", "example.com", []string{"https://A.Example.ORG"}, []string{"*.EXAMPLE.org"}, allow},
		{"wildcard needs a subdomain", "example.com", []string{"https://example.org"}, []string{"*.example.org"}, refuse},
		{"wildcard does not match port", "example.com", []string{"https://a.example.org:8443"}, []string{"*.example.org"}, refuse},
		{"wildcard with port", "example.com", []string{"https://a.example.org:8443"}, []string{"*.example.org:*"}, allow},
		{"wildcard suffix attack", "example.com", []string{"https://evilexample.org"}, []string{"*.example.org"}, refuse},
		{"scheme pattern", "example.com", []string{"https://app.example.org"}, []string{"https://app.example.org"}, allow},
		{"scheme pattern, other scheme", "example.com", []string{"http://app.example.org"}, []string{"https://app.example.org"}, refuse},
		{"scheme pattern wildcard", "example.com", []string{"https://a.example.org"}, []string{"https://*.example.org"}, allow},
		{"second pattern", "example.com", []string{"https://b.net"}, []string{"a.net", "b.net"}, allow},
		{"star allows all URL origins", "example.com", []string{"https://evil.com"}, []string{"*"}, allow},
		{"character class", "example.com", []string{"https://app2.example.org"}, []string{"app[0-9].example.org"}, allow},

		{"malformed pattern", "example.com", []string{"https://x.org"}, []string{"[x"}, bad},
		{"malformed pattern without Origin", "example.com", nil, []string{"a", "x\\"}, bad},
		{"malformed pattern after a match", "example.com", []string{"https://a.org"}, []string{"a.org", "["}, bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{Method: "GET", Host: tt.host, Header: http.Header{}}
			if tt.origins != nil {
				r.Header["Origin"] = tt.origins
			}
			err := CheckOrigin(r, tt.patterns)
			got := allow
			if re, ok := asType[*RejectError](err); ok && re.Status == 403 {
				got = refuse
				if !strings.Contains(re.Reason, "Origin") || strings.ContainsAny(re.Reason, "\r\n") {
					t.Errorf("CheckOrigin reason %q does not name the Origin in one line", re.Reason)
				}
			} else if errors.Is(err, path.ErrBadPattern) {
				got = bad
			} else if err != nil {
				t.Fatalf("CheckOrigin(%q, Host %q, %q) = %v, want nil, a 403 or ErrBadPattern", tt.origins, tt.host, tt.patterns, err)
			}
			if got != tt.want {
				t.Errorf("CheckOrigin(%q, Host %q, %q) = %v (%s), want %s", tt.origins, tt.host, tt.patterns, err, got, tt.want)
			}
		})
	}
}

func TestCheckOriginReason(t *testing.T) {
	r := readRequest(t, minimal("", "Origin: https://evil.com"))
	err := CheckOrigin(r, nil)
	want := `handshake: 403 Forbidden: Origin "https://evil.com" is not allowed for Host "server.example.com"`
	if err == nil || err.Error() != want {
		t.Errorf("CheckOrigin(%q) = %v, want %s", "https://evil.com", err, want)
	}
}
