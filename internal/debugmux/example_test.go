package debugmux_test

import (
	"net/http"

	"github.com/pushwire/pushwire/internal/debugmux"
)

func ExampleNew() {
	mux := debugmux.New()
	mux.HandleFunc("GET /bench/ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("pong"))
	})
	_ = &http.Server{Addr: "127.0.0.1:6060", Handler: mux}
}
