package httpstream

import (
	"net/http"
	"net/url"
	"strings"
)

// queryValue returns the first value of key in r's query, as
// r.URL.Query().Get(key) does, without building the url.Values map: a
// request looks up two or three parameters, and every waiting poll and
// stream left a parsed query (about 350 bytes each) of garbage per lookup.
// Pairs url.ParseQuery rejects (a semicolon, a malformed escape) are
// skipped as it skips them.
func queryValue(r *http.Request, key string) string {
	q := r.URL.RawQuery
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil || k != key {
			continue
		}
		if v, err = url.QueryUnescape(v); err != nil {
			continue
		}
		return v
	}
	return ""
}
