package flushwrite_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/pushwire/pushwire/internal/flushwrite"
)

// A streamed response: each line under a fresh 10-second write deadline,
// flushed at once.
func ExampleWriter() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fw := flushwrite.New(w, 10*time.Second)
		for i := range 3 {
			if err := fw.Write(fmt.Appendf(nil, "line %d\n", i)); err != nil {
				return // the client is gone or stalled
			}
		}
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Print(string(b))
	// Output:
	// line 0
	// line 1
	// line 2
}
