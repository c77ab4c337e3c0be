package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pushwire/pushwire/conformance"
)

func TestConformUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no role", nil, 2},
		{"unknown role", []string{"browser"}, 2},
		{"server without url", []string{"server"}, 2},
		{"server with bad scheme", []string{"server", "-url", "http://127.0.0.1:1/"}, 2},
		{"no case selected", []string{"server", "-url", "ws://127.0.0.1:1/", "-cases", "99.*"}, 2},
		{"stray argument", []string{"server", "-url", "ws://127.0.0.1:1/", "extra"}, 2},
		{"help", []string{"-h"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if got := runConform(context.Background(), tt.args, &out, &errb); got != tt.want {
				t.Errorf("runConform(%q) = %d, want %d (stderr %q)", tt.args, got, tt.want, errb.String())
			}
		})
	}
}

// conformTimeout is the per-case wait of these tests: the default, 2 s, is
// for a peer on an idle machine; under the race detector on a loaded one a
// correct peer can take longer to echo 2.5 MiB (7.1.6), to read its read
// limit (15.4.2) or to inflate it (15.5.1). A case that passes stops
// waiting as soon as the peer reacts.
const conformTimeout = "10s"

// TestConformServerEcho runs `pushwire conform server` against `pushwire
// echo`, without the long categories. The echo's read limit is 16 MiB
// rather than the command's 64 MiB, so that the limit cases (15.4.2 reads
// the limit, 15.5.1 inflates it) take a quarter of the time under the race
// detector.
func TestConformServerEcho(t *testing.T) {
	srv := httptest.NewServer(echoHandler(16<<20, true))
	defer srv.Close()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	args := []string{"server", "-url", "ws" + strings.TrimPrefix(srv.URL, "http") + "/", "-exclude", "9.*,12.*,13.*",
		"-parallel", "8", "-limit", "16777216", "-report", dir, "-agent", "pushwire",
		"-timeout", conformTimeout}
	if code := runConform(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("runConform(%q) = %d, want 0\n%s", args, code, out.String())
	}
	if !strings.Contains(out.String(), "pushwire (server): ") {
		t.Errorf("output %q lacks the summary line", out.String())
	}
	if !strings.Contains(errb.String(), "\r[") {
		t.Errorf("stderr %q lacks the progress line", errb.String())
	}
	for _, f := range []string{"index.json", "index.html", "pushwire_case_1_1_1.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("report file: %v", err)
		}
	}
}

// TestConformClientSelf runs `pushwire conform client -self`: pushwire's
// client against the fuzzing server.
func TestConformClientSelf(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	args := []string{"client", "-self", "-addr", "127.0.0.1:0", "-exclude", "9.*,12.*,13.*", "-parallel", "8", "-report", dir, "-q",
		"-timeout", conformTimeout}
	if code := runConform(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("runConform(%q) = %d, want 0\n%s%s", args, code, out.String(), errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		t.Errorf("report: %v", err)
	}
}

// TestConformSSEClientPushwire runs `pushwire sse -json` as the client
// under test of the sse-client role.
func TestConformSSEClientPushwire(t *testing.T) {
	s, err := conformance.NewSSEClientServer(&conformance.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/cases")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct{ ID, URL string }
	if err := json.NewDecoder(resp.Body).Decode(&cases); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range cases {
		var out, errb bytes.Buffer
		runSSE(context.Background(), []string{"-json", srv.URL + c.URL + "?agent=pushwire"}, &out, &errb)
		resp, err := http.Post(srv.URL+"/report/"+c.ID+"?agent=pushwire", "application/json", &out)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	rep := s.Report("pushwire")
	if len(rep.Results) != len(cases) {
		t.Fatalf("report has %d results, want %d", len(rep.Results), len(cases))
	}
	for _, r := range rep.Results {
		if r.Behavior != conformance.OK {
			t.Errorf("case %s (%s): %v: %s", r.ID, r.Description, r.Behavior, r.BehaviorReason)
		}
	}
}
