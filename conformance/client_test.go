package conformance

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pushwire/pushwire/wsproto"
)

// echoClient runs pushwire's client (wsproto.Dial) against a fuzzing
// server at base, the way an Autobahn client driver does: it asks for the
// case count, echoes every case, and asks for the report.
func echoClient(ctx context.Context, base, agent string, parallel int) error {
	opts := &wsproto.DialOptions{ReadLimit: 64 << 20}
	c, _, err := wsproto.Dial(ctx, base+"/getCaseCount", opts)
	if err != nil {
		return err
	}
	_, msg, err := c.Read(ctx, nil)
	c.CloseNow()
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(string(msg))
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for i := 1; i <= n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, _, err := wsproto.Dial(ctx, fmt.Sprintf("%s/runCase?case=%d&agent=%s", base, i, agent), opts)
			if err != nil {
				return
			}
			defer c.CloseNow()
			var buf []byte
			for {
				typ, msg, err := c.Read(ctx, buf)
				if err != nil {
					return
				}
				if err := c.Write(ctx, typ, msg); err != nil {
					return
				}
				buf = msg
			}
		}()
	}
	wg.Wait()
	c, _, err = wsproto.Dial(ctx, base+"/updateReports?agent="+agent, opts)
	if err != nil {
		return err
	}
	c.Read(ctx, nil) // until the server's close
	c.CloseNow()
	return nil
}

func TestPushwireClient(t *testing.T) {
	fs, err := NewFuzzingServer(Options{Exclude: ciExclude, Timeout: testUnit})
	if err != nil {
		t.Fatal(err)
	}
	var got *Report
	fs.OnReport = func(r *Report) error { got = r; return nil }
	srv := httptest.NewServer(fs)
	defer srv.Close()
	base := "ws" + strings.TrimPrefix(srv.URL, "http")
	if err := echoClient(context.Background(), base, "pushwire", 8); err != nil {
		t.Fatal(err)
	}
	if got == nil {
		t.Fatal("updateReports did not deliver a report")
	}
	if len(got.Results) != fs.CaseCount() {
		t.Errorf("report has %d results, want %d", len(got.Results), fs.CaseCount())
	}
	checkStrict(t, got)
}
