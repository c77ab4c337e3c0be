package httpstream

import (
	_ "embed"
	"net/http"
	"strconv"
)

//go:embed pushwire.js
var script []byte

// serveScript serves the browser client.
func serveScript(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httpError(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/javascript; charset=utf-8")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Content-Length", strconv.Itoa(len(script)))
	if r.Method == http.MethodGet {
		w.Write(script)
	}
}
