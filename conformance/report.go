package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Report is the outcome of a run: one Result per case, in catalogue
// order.
type Report struct {
	// Agent names the implementation under test.
	Agent string `json:"agent"`
	// Role is "server", "client", "sse-server" or "sse-client": the role
	// of the implementation under test.
	Role string `json:"role"`
	// Target is the URL or address tested.
	Target string `json:"target,omitempty"`
	// Strict is set when the run added pushwire's stricter checks
	// (Options.Strict).
	Strict bool `json:"strict,omitempty"`
	// Started is when the run began; DurationMS how long it took.
	Started    time.Time `json:"started"`
	DurationMS float64   `json:"duration_ms"`
	Results    []*Result `json:"results"`
}

// Result is the outcome of one case.
type Result struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	Expectation string `json:"expectation"`
	// Behavior grades what the peer did with what the case sent;
	// BehaviorClose grades the close (who closed, the code, clean or not).
	Behavior       Outcome `json:"behavior"`
	BehaviorReason string  `json:"behaviorReason"`
	BehaviorClose  Outcome `json:"behaviorClose"`
	CloseReason    string  `json:"closeReason"`
	// RemoteCloseCode is the code of the peer's close frame: 0 if it sent
	// none, 1005 if it sent one without a code.
	RemoteCloseCode   int    `json:"remoteCloseCode"`
	RemoteCloseReason string `json:"remoteCloseReason,omitempty"`
	// ClosedByMe is set when the harness sent the first close frame.
	ClosedByMe bool `json:"closedByMe"`
	// Extensions is the Sec-WebSocket-Extensions the handshake agreed on.
	Extensions string  `json:"extensions,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	// Events lists what was sent and received, in order.
	Events []Event `json:"events"`
}

// Worst returns the worse of the result's two grades.
func (r *Result) Worst() Outcome { return worse(r.Behavior, r.BehaviorClose) }

// Counts returns how many cases have each outcome, by the worse of their
// two grades.
func (r *Report) Counts() map[Outcome]int {
	m := map[Outcome]int{}
	for _, res := range r.Results {
		m[res.Worst()]++
	}
	return m
}

// Summary returns a one-line count of outcomes, such as
// "301 cases: 290 OK, 11 INFORMATIONAL".
func (r *Report) Summary() string {
	c := r.Counts()
	var parts []string
	for o := OK; o <= Failed; o++ {
		if c[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[o], o))
		}
	}
	return fmt.Sprintf("%d cases: %s", len(r.Results), strings.Join(parts, ", "))
}

// indexEntry is a case's line in index.json, as Autobahn writes it.
type indexEntry struct {
	Behavior        Outcome `json:"behavior"`
	BehaviorClose   Outcome `json:"behaviorClose"`
	RemoteCloseCode *int    `json:"remoteCloseCode"`
	Duration        int64   `json:"duration"`
	ReportFile      string  `json:"reportfile"`
}

// fileName returns the per-case report file name.
func (r *Report) fileName(res *Result) string {
	agent := strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' {
			return c
		}
		return '_'
	}, r.Agent)
	return strings.ToLower(agent) + "_case_" + strings.ReplaceAll(res.ID, ".", "_") + ".json"
}

// WriteDir writes the report to dir (created if needed): index.json
// (agent → case → behavior, behaviorClose, remoteCloseCode, duration,
// reportfile, in Autobahn's layout), one JSON file per case with its
// events, and a self-contained index.html.
func (r *Report) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	index := map[string]map[string]indexEntry{}
	cases := map[string]indexEntry{}
	for _, res := range r.Results {
		e := indexEntry{Behavior: res.Behavior, BehaviorClose: res.BehaviorClose, Duration: int64(res.DurationMS), ReportFile: r.fileName(res)}
		if res.RemoteCloseCode != 0 {
			code := res.RemoteCloseCode
			e.RemoteCloseCode = &code
		}
		cases[res.ID] = e
		if err := writeJSON(filepath.Join(dir, e.ReportFile), res); err != nil {
			return err
		}
	}
	index[r.Agent] = cases
	if err := writeJSON(filepath.Join(dir, "index.json"), index); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "index.html"), r.HTML(), 0o644)
}

func writeJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(name, append(b, '\n'), 0o644)
}
