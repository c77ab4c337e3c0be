package conformance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReportWriteDir(t *testing.T) {
	rep := &Report{Agent: "test agent", Role: "server", Started: time.Unix(0, 0), Results: []*Result{
		{ID: "1.1.1", Description: "d1", Behavior: OK, BehaviorClose: OK, RemoteCloseCode: 1000, Events: []Event{{Dir: "sent", Kind: "frame", Opcode: "text", Data: "<script>"}}},
		{ID: "6.4.1", Description: "d2", Behavior: NonStrict, BehaviorClose: Failed},
	}}
	dir := t.TempDir()
	if err := rep.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index map[string]map[string]struct {
		Behavior        string `json:"behavior"`
		BehaviorClose   string `json:"behaviorClose"`
		RemoteCloseCode *int   `json:"remoteCloseCode"`
		ReportFile      string `json:"reportfile"`
	}
	if err := json.Unmarshal(b, &index); err != nil {
		t.Fatal(err)
	}
	e := index["test agent"]["6.4.1"]
	if e.Behavior != "NON-STRICT" || e.BehaviorClose != "FAILED" || e.RemoteCloseCode != nil || e.ReportFile != "test_agent_case_6_4_1.json" {
		t.Errorf("index entry 6.4.1 = %+v, want NON-STRICT, FAILED, no code, test_agent_case_6_4_1.json", e)
	}
	if c := index["test agent"]["1.1.1"].RemoteCloseCode; c == nil || *c != 1000 {
		t.Errorf("index entry 1.1.1 remoteCloseCode = %v, want 1000", c)
	}
	var res Result
	b, err = os.ReadFile(filepath.Join(dir, "test_agent_case_1_1_1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Behavior != OK || len(res.Events) != 1 || res.Events[0].Data != "<script>" {
		t.Errorf("case file = %+v, want behavior OK and the one event", res)
	}
	html, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`class="non-strict"`, "&lt;script&gt;", `href="#case-6-4-1"`} {
		if !strings.Contains(string(html), want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://", "<link"} {
		if strings.Contains(string(html), bad) {
			t.Errorf("index.html holds %q: not self-contained or not escaped", bad)
		}
	}
}
