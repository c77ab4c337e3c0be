package handshake

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// CheckOrigin applies the origin policy to the opening handshake r and
// returns nil when the connection may proceed. RFC 6455 §10.2: "Servers
// that are not intended to process input from any web page but only for
// certain sites SHOULD verify the |Origin| field is an origin they expect.
// If the origin indicated is unacceptable to the server, then it SHOULD
// respond to the WebSocket handshake with a reply containing HTTP 403
// Forbidden status code." The policy, in order:
//
//  1. Every pattern must be well formed for path.Match; otherwise the
//     result is an error wrapping path.ErrBadPattern, whatever the Origin
//     (Reject answers it with 403).
//  2. No Origin header: allowed. Browsers always send one (RFC 6455 §4.1
//     item 8), so the request does not come from a web page.
//  3. More than one Origin line: refused.
//  4. An Origin that is not a serialized URL origin ("null", or anything
//     that is not scheme://host[:port] with no user, path, query or
//     fragment when parsed by net/url): allowed only if some pattern is
//     equal to the whole value, ASCII case-insensitively. Wildcards do
//     not admit it.
//  5. Same origin: allowed when the Origin's host[:port], as written, is
//     equal to r.Host, ASCII case-insensitively. When exactly one of the
//     two leaves the port out, they are still equal if the hosts are and
//     the other's port is the default port of the Origin's scheme (80 for
//     http and ws, 443 for https and wss): "https://example.com" matches
//     Host "example.com:443" but not "example.com:80", and
//     "https://example.com:8443" matches only a Host with port 8443.
//  6. Otherwise allowed if the Origin matches a pattern: a pattern that
//     contains "://" is matched against "scheme://host[:port]" of the
//     Origin, any other pattern against its host[:port], with path.Match
//     after lowering ASCII letters in both. So "*.example.com" admits
//     "https://a.example.com" but neither "https://example.com" nor
//     "https://a.example.com:8443"; "https://*.example.com" admits only
//     https; "*" admits every URL origin (but not "null").
//  7. Otherwise refused.
//
// A refusal is a *RejectError with Status 403 and a Reason naming the
// Origin. With nil patterns only same-origin pages and non-browser clients
// get through, which is what makes cross-site WebSocket hijacking
// impossible by default.
func CheckOrigin(r *http.Request, patterns []string) error {
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("handshake: origin pattern %s: %w", quote(p), err)
		}
	}
	vals := r.Header.Values("Origin")
	switch len(vals) {
	case 0:
		return nil
	case 1:
	default:
		return forbidden("Origin header appears " + strconv.Itoa(len(vals)) + " times, must appear once")
	}
	origin := vals[0]
	scheme, host, ok := parseOrigin(origin)
	if !ok {
		for _, p := range patterns {
			if asciiEqualFold(p, origin) {
				return nil
			}
		}
		return forbidden("Origin " + quote(origin) + " is not allowed: not a URL origin and not listed")
	}
	if sameHost(scheme, host, r.Host) {
		return nil
	}
	for _, p := range patterns {
		subject := host
		if strings.Contains(p, "://") {
			subject = scheme + "://" + host
		}
		if ok, _ := path.Match(toLowerASCII(p), toLowerASCII(subject)); ok {
			return nil
		}
	}
	return forbidden("Origin " + quote(origin) + " is not allowed for Host " + quote(r.Host))
}

func forbidden(reason string) *RejectError {
	return &RejectError{Status: http.StatusForbidden, Reason: reason}
}

// parseOrigin splits a serialized origin (RFC 6454 §6.2) into its lowered
// scheme and its host[:port] as written. ok is false for "null" and for
// anything with user information, a path, a query, a fragment, or a host
// outside letters, digits, "-._~", and the ':' and '[]' of ports and IPv6
// literals.
func parseOrigin(origin string) (scheme, host string, ok bool) {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" || u.Opaque != "" || u.User != nil ||
		u.Path != "" || u.RawPath != "" || u.RawQuery != "" || u.ForceQuery ||
		u.Fragment != "" || strings.Contains(origin, "#") {
		return "", "", false
	}
	for i := 0; i < len(u.Host); i++ {
		c := u.Host[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == ':', c == '[', c == ']':
		default:
			return "", "", false
		}
	}
	if _, _, ok := splitHostPort(u.Host); !ok {
		return "", "", false
	}
	return toLowerASCII(u.Scheme), u.Host, true
}

// sameHost reports whether the Origin's host[:port] names the same
// authority as the request's Host, by the rule documented at CheckOrigin.
func sameHost(scheme, originHost, requestHost string) bool {
	if asciiEqualFold(originHost, requestHost) {
		return true
	}
	oh, op, ok1 := splitHostPort(originHost)
	rh, rp, ok2 := splitHostPort(requestHost)
	if !ok1 || !ok2 || !asciiEqualFold(oh, rh) {
		return false
	}
	def := ""
	switch scheme {
	case "http", "ws":
		def = "80"
	case "https", "wss":
		def = "443"
	default:
		return false
	}
	return op == "" && rp == def || rp == "" && op == def
}
