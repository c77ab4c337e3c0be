package conformance_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/pushwire/pushwire/conformance"
	"github.com/pushwire/pushwire/wsproto"
)

// The catalogue can be listed without running anything.
func ExampleCases() {
	for _, c := range conformance.Cases(conformance.RoleServer)[:3] {
		fmt.Println(c.ID, c.Description)
	}
	// Output:
	// 1.1.1 Send a text message of 0 bytes (0x2a repeated) in one frame.
	// 1.1.2 Send a text message of 125 bytes (0x2a repeated) in one frame.
	// 1.1.3 Send a text message of 126 bytes (0x2a repeated) in one frame.
}

// RunServer tests a WebSocket server: here pushwire's own echo server,
// on the UTF-8 cases.
func ExampleRunServer() {
	srv := httptest.NewServer(wsproto.Handler(&wsproto.AcceptOptions{InsecureSkipOriginCheck: true}, func(c *wsproto.Conn, _ *http.Request) {
		ctx := context.Background()
		for {
			typ, msg, err := c.Read(ctx, nil)
			if err != nil || c.Write(ctx, typ, msg) != nil {
				return
			}
		}
	}))
	defer srv.Close()
	rep, err := conformance.RunServer(context.Background(), &conformance.Options{
		URL:      "ws" + strings.TrimPrefix(srv.URL, "http") + "/",
		Cases:    []string{"6.*"},
		Parallel: 4,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.Counts()[conformance.Failed], "FAILED")
	// Output: 0 FAILED
}
