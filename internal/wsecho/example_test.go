package wsecho_test

import (
	"net/http"

	"github.com/pushwire/pushwire/internal/wsecho"
	"github.com/pushwire/pushwire/wsproto"
)

// An echo server on every path.
func ExampleLoop() {
	h := wsproto.Handler(nil, func(c *wsproto.Conn, r *http.Request) {
		wsecho.Loop(r.Context(), c) // returns the peer's CloseError, or why it failed
	})
	_ = &http.Server{Addr: "127.0.0.1:9001", Handler: h}
}
