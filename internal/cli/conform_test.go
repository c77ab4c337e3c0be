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

// TestConformServerEcho runs `pushwire conform server -strict` against
// `pushwire echo`, without the long categories: every case OK or
// INFORMATIONAL. -strict only turns OK grades into NON-STRICT, so this
// covers the default grading too.
func TestConformServerEcho(t *testing.T) {
	// A 1 MiB read limit keeps the limit cases (15.4, 15.5) small.
	srv := httptest.NewServer(echoHandler(1<<20, true))
	defer srv.Close()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	args := []string{"server", "-url", "ws" + strings.TrimPrefix(srv.URL, "http") + "/", "-exclude", "9.*,12.*,13.*", "-strict", "-timeout", "2s",
		"-parallel", "8", "-limit", "1048576", "-report", dir, "-agent", "pushwire"}
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
// client against the fuzzing server. A 1 MiB read limit keeps the limit
// cases small: with the default 64 MiB, 15.5.1 has the client inflate
// 64 MiB of zeros, which with -race on a busy machine outlasted the case's
// time (the harness closed the connection first).
func TestConformClientSelf(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	args := []string{"client", "-self", "-addr", "127.0.0.1:0", "-exclude", "9.*,12.*,13.*", "-timeout", "2s", "-parallel", "8", "-limit", "1048576", "-report", dir, "-q"}
	if code := runConform(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("runConform(%q) = %d, want 0\n%s%s", args, code, out.String(), errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		t.Errorf("report: %v", err)
	}
}

// TestConformList checks -list: each role prints its case ids and
// descriptions, Autobahn's first for the WebSocket roles.
func TestConformList(t *testing.T) {
	for _, tt := range []struct {
		role  conformance.Role
		first string
	}{
		{conformance.RoleServer, "1.1.1 "}, {conformance.RoleClient, "1.1.1 "}, {conformance.RoleSSEServer, "1.1 "}, {conformance.RoleSSEClient, "1.1 "},
	} {
		var out, errb bytes.Buffer
		if code := runConform(context.Background(), []string{tt.role.String(), "-list"}, &out, &errb); code != 0 {
			t.Fatalf("conform %s -list = %d (%s)", tt.role, code, errb.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if want := len(conformance.Cases(tt.role)); len(lines) != want || !strings.HasPrefix(lines[0], tt.first) {
			t.Errorf("conform %s -list: %d lines starting %q, want %d starting %q", tt.role, len(lines), lines[0], want, tt.first)
		}
	}
}

// TestConformHelp checks that each role's -h shows examples of that role:
// event-stream URLs for the SSE roles.
func TestConformHelp(t *testing.T) {
	for _, tt := range []struct{ role, want string }{
		{"server", "conform server -url ws://"}, {"client", "conform client -self"},
		{"sse-server", "conform sse-server -url http://127.0.0.1:8080/events"}, {"sse-client", "pushwire sse -json"},
	} {
		var out, errb bytes.Buffer
		if code := runConform(context.Background(), []string{tt.role, "-h"}, &out, &errb); code != 0 {
			t.Fatalf("conform %s -h = %d", tt.role, code)
		}
		if !strings.Contains(errb.String(), tt.want) {
			t.Errorf("conform %s -h lacks %q:\n%s", tt.role, tt.want, errb.String())
		}
		if strings.HasPrefix(tt.role, "sse") && strings.Contains(errb.String(), "ws://") {
			t.Errorf("conform %s -h shows WebSocket examples:\n%s", tt.role, errb.String())
		}
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
