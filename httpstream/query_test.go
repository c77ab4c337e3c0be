package httpstream

import (
	"net/http"
	"net/url"
	"testing"
)

// TestQueryValue: queryValue finds what r.URL.Query().Get finds, for
// plain, escaped, repeated, empty and malformed parameters, and allocates
// nothing for a plain one.
func TestQueryValue(t *testing.T) {
	queries := []string{
		"", "transport=poll", "transport=poll&cursor=e1:5", "cursor=e1%3A5&transport=sse",
		"a=1&a=2", "a", "a=", "=x&a=3", "a=%zz&a=4", "a;b=1&a=5", "a=b;c&a=6", "%61=7", "a+b=8&a b=9",
		"a=x+y", "&&a=10&&", "callback=my.fn", "a=%", "a%=1&a=11",
	}
	keys := []string{"a", "a b", "transport", "cursor", "callback", "missing", ""}
	for _, raw := range queries {
		u := &url.URL{Path: "/", RawQuery: raw}
		r := &http.Request{URL: u}
		for _, k := range keys {
			if got, want := queryValue(r, k), u.Query().Get(k); got != want {
				t.Errorf("queryValue(%q, %q) = %q, want %q (url.Values)", raw, k, got, want)
			}
		}
	}
	r := &http.Request{URL: &url.URL{Path: "/", RawQuery: "transport=poll&cursor=e1:5&timeout=10"}}
	if n := testing.AllocsPerRun(100, func() { queryValue(r, "timeout") }); n != 0 {
		t.Errorf("queryValue allocates %.1f times, want 0", n)
	}
}
