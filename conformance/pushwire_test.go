package conformance

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/internal/wsecho"
	"github.com/pushwire/pushwire/wsproto"
)

// pushwireEcho is pushwire's echo server, as `pushwire echo` runs it.
func pushwireEcho(limit int64) *httptest.Server {
	opts := &wsproto.AcceptOptions{ReadLimit: limit, InsecureSkipOriginCheck: true}
	return httptest.NewServer(wsproto.Handler(opts, func(c *wsproto.Conn, _ *http.Request) { echoConn(c) }))
}

// echoConn echoes every message until the connection ends.
func echoConn(c *wsproto.Conn) {
	defer c.CloseNow()
	wsecho.Loop(context.Background(), c)
}

// ciExclude leaves out the long categories.
var ciExclude = []string{"9.*", "12.*", "13.*"}

// testTimeout is the per-case wait of these tests: the default, 2 s, is
// for a peer on an idle machine; under the race detector on a loaded one a
// correct peer can take longer to echo 2.5 MiB (7.1.6) or to read 64 MiB
// (15.4.2). A case that passes stops waiting as soon as the peer reacts.
const testTimeout = 10 * time.Second

func checkStrict(t *testing.T, rep *Report) {
	t.Helper()
	for _, r := range rep.Results {
		if r.Behavior == Failed || r.Behavior == NonStrict || r.BehaviorClose == Failed || r.BehaviorClose == NonStrict {
			t.Errorf("case %s: behavior %v (%s), close %v (%s)", r.ID, r.Behavior, r.BehaviorReason, r.BehaviorClose, r.CloseReason)
		}
	}
	t.Log(rep.Summary())
}

func TestPushwireServer(t *testing.T) {
	const limit = 16 << 20
	srv := pushwireEcho(limit)
	defer srv.Close()
	rep, err := RunServer(context.Background(), &Options{
		URL:       "ws" + strings.TrimPrefix(srv.URL, "http") + "/",
		Agent:     "pushwire",
		Exclude:   ciExclude,
		Parallel:  8,
		ReadLimit: limit,
		Timeout:   testTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	checkStrict(t, rep)
}
