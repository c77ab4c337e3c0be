package debugmux

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pushwire/pushwire/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// /debug/vars has goroutines beside memstats, on every mux New makes;
// pprof answers.
func TestEndpoints(t *testing.T) {
	for range 2 {
		srv := httptest.NewServer(New())
		code, body := get(t, srv.URL+"/debug/vars")
		var vars map[string]json.RawMessage
		if err := json.Unmarshal([]byte(body), &vars); code != 200 || err != nil {
			t.Fatalf("/debug/vars: %d, %v", code, err)
		}
		var n int
		if err := json.Unmarshal(vars["goroutines"], &n); err != nil || n < 1 {
			t.Errorf("goroutines = %s, want a count", vars["goroutines"])
		}
		if _, ok := vars["memstats"]; !ok {
			t.Error("no memstats in /debug/vars")
		}
		if code, body := get(t, srv.URL+"/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
			t.Errorf("/debug/pprof/: %d %.80q", code, body)
		}
		srv.Close()
	}
}
