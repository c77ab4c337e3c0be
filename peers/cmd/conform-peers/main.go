// Command conform-peers grades every implementation of peers.ConformPeers
// — pushwire, gorilla (with its plain echo and with the UTF-8 checking echo
// of its examples/autobahn), coder, gobwas, gws, Python websockets and Node
// ws — with pushwire's conformance harness, in both roles: the whole server
// catalogue against its echo server, and the whole client catalogue served
// to its client. It writes the complete reports under OUT/reports/ (not
// committed) and a short OUT/SUMMARY.md: the table, the echo app of each
// implementation, and every FAILED case with the RFC sentence it breaks.
//
// Usage, from peers/:
//
//	go run ./cmd/conform-peers [-only gorilla,gws] [-roles server,client] [-parallel 4] [-strict] [-out conformance]
//
// The whole run takes about an hour on 2 cores (categories 12 and 13 send
// 216,000 compressed messages per implementation and role). A run with
// -only rewrites those rows and keeps the others: the table is built from
// the reports on disk.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pushwire/pushwire/conformance"
	"github.com/pushwire/pushwire/peers"
)

var outcomes = []conformance.Outcome{conformance.OK, conformance.NonStrict, conformance.Informational, conformance.Unimplemented, conformance.Failed}

func main() {
	only := flag.String("only", "", "comma-separated implementations to run (default: all)")
	roles := flag.String("roles", "server,client", "comma-separated roles to run")
	parallel := flag.Int("parallel", 4, "cases run at once per implementation")
	strict := flag.Bool("strict", false, "add pushwire's stricter checks (NON-STRICT only)")
	out := flag.String("out", "conformance", "directory for the reports and SUMMARY.md")
	flag.DurationVar(&unit, "timeout", 3*time.Second, "the cases' time unit (Autobahn's second; see conformance.Options.Timeout): longer than Autobahn's on a shared machine")
	cases := flag.String("cases", "", "comma-separated case patterns (default: all; for trial runs)")
	exclude := flag.String("exclude", "", "comma-separated case patterns to leave out (for trial runs)")
	flag.Parse()
	sel = selection{split(*cases), split(*exclude)}
	if err := run(*only, *roles, *parallel, *strict, *out); err != nil {
		fmt.Fprintln(os.Stderr, "conform-peers:", err)
		os.Exit(1)
	}
}

// selection is the -cases and -exclude of a trial run.
type selection struct{ cases, exclude []string }

var sel selection

// unit is the run's time unit (-timeout).
var unit time.Duration

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func run(only, roles string, parallel int, strict bool, out string) error {
	start := time.Now()
	for _, p := range peers.ConformPeers() {
		if only != "" && !slices.Contains(strings.Split(only, ","), p.Name) {
			continue
		}
		if p.Skip != "" {
			fmt.Fprintf(os.Stderr, "%s: skipped: %s\n", p.Name, p.Skip)
			continue
		}
		for _, role := range strings.Split(roles, ",") {
			t0 := time.Now()
			var rep *conformance.Report
			var err error
			switch role {
			case "server":
				rep, err = gradeServer(p, parallel, strict)
			case "client":
				rep, err = gradeClient(p, parallel, strict)
			default:
				return fmt.Errorf("unknown role %q", role)
			}
			if err != nil {
				return fmt.Errorf("%s %s: %w", p.Name, role, err)
			}
			fmt.Fprintf(os.Stderr, "%s %s: %s (%s)\n", p.Name, role, rep.Summary(), time.Since(t0).Round(time.Second))
			dir := filepath.Join(out, "reports", p.Name+"-"+role)
			if err := rep.WriteDir(dir); err != nil {
				return err
			}
			if err := writeRunInfo(dir, runInfo{Started: t0.UTC(), Seconds: int(time.Since(t0).Seconds()), Unit: unit.String(), Parallel: parallel}); err != nil {
				return err
			}
		}
	}
	summary, err := summarize(out, start)
	if err != nil {
		return err
	}
	fmt.Print(summary)
	return os.WriteFile(filepath.Join(out, "SUMMARY.md"), []byte(summary), 0o644)
}

// progress prints a line every 10 seconds.
func progress(name string) func(done, total int, r *conformance.Result) {
	last := time.Now()
	return func(done, total int, r *conformance.Result) {
		if time.Since(last) > 10*time.Second || done == total {
			last = time.Now()
			fmt.Fprintf(os.Stderr, "%s: %d/%d cases (%s)\n", name, done, total, r.ID)
		}
	}
}

// gradeServer runs the server catalogue against p's echo server.
func gradeServer(p *peers.ConformPeer, parallel int, strict bool) (*conformance.Report, error) {
	url, stop, err := p.Serve()
	if err != nil {
		return nil, err
	}
	defer stop()
	return conformance.RunServer(context.Background(), &conformance.Options{
		URL: url, Agent: p.Name, Parallel: parallel, Strict: strict, Cases: sel.cases, Exclude: sel.exclude, Timeout: unit,
		ReadLimit: peers.MaxMessage, Progress: progress(p.Name + " server"),
	})
}

// gradeClient serves the client catalogue to p's client.
func gradeClient(p *peers.ConformPeer, parallel int, strict bool) (*conformance.Report, error) {
	fs, err := conformance.NewFuzzingServer(&conformance.Options{Strict: strict, Cases: sel.cases, Exclude: sel.exclude, Timeout: unit, ReadLimit: peers.MaxMessage, Progress: progress(p.Name + " client")})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: fs, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Hour)
	defer cancel()
	if err := p.Drive(ctx, "ws://"+ln.Addr().String(), p.Name, parallel); err != nil {
		return nil, fmt.Errorf("client driver: %w", err)
	}
	rep := fs.Report(p.Name)
	if rep == nil {
		return nil, errors.New("the client ran no case")
	}
	if len(rep.Results) != fs.CaseCount() {
		fmt.Fprintf(os.Stderr, "%s client: ran %d of %d cases\n", p.Name, len(rep.Results), fs.CaseCount())
	}
	return rep, nil
}

// runInfo is written beside a report as run.json: when the run started,
// how long it took, and with which time unit and parallelism.
type runInfo struct {
	Started  time.Time `json:"started"`
	Seconds  int       `json:"seconds"`
	Unit     string    `json:"unit"`
	Parallel int       `json:"parallel"`
}

func writeRunInfo(dir string, ri runInfo) error {
	b, err := json.Marshal(ri)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "run.json"), b, 0o644)
}

// runTime returns a report's run time as the summary shows it, "—" when
// the report has no run.json (written by an older conform-peers).
func runTime(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		return "—"
	}
	var ri runInfo
	if json.Unmarshal(b, &ri) != nil {
		return "—"
	}
	return fmt.Sprintf("%s (%s)", (time.Duration(ri.Seconds) * time.Second).String(), ri.Started.Format("01-02 15:04"))
}

// caseResult is what the summary reads of a case report.
type caseResult struct {
	ID             string              `json:"id"`
	Behavior       conformance.Outcome `json:"behavior"`
	BehaviorReason string              `json:"behaviorReason"`
	BehaviorClose  conformance.Outcome `json:"behaviorClose"`
	CloseReason    string              `json:"closeReason"`
}

func (r caseResult) worst() conformance.Outcome { return max(r.Behavior, r.BehaviorClose) }

// readReport reads the grades of a report directory written by WriteDir.
func readReport(dir string) (agent string, results []caseResult, err error) {
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return "", nil, err
	}
	var index map[string]map[string]struct {
		ReportFile string `json:"reportfile"`
	}
	if err := json.Unmarshal(b, &index); err != nil {
		return "", nil, err
	}
	for a, cases := range index {
		agent = a
		for _, c := range cases {
			b, err := os.ReadFile(filepath.Join(dir, c.ReportFile))
			if err != nil {
				return "", nil, err
			}
			var r caseResult
			if err := json.Unmarshal(b, &r); err != nil {
				return "", nil, err
			}
			results = append(results, r)
		}
	}
	slices.SortFunc(results, func(a, b caseResult) int { return compareIDs(a.ID, b.ID) })
	return agent, results, nil
}

func compareIDs(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		var x, y int
		fmt.Sscan(as[i], &x)
		fmt.Sscan(bs[i], &y)
		if x != y {
			return x - y
		}
	}
	return len(as) - len(bs)
}

// rule extracts the RFC sentence a reason quotes: the last parenthesis
// that starts with "RFC ".
func rule(reason string) string {
	i := strings.LastIndex(reason, "(RFC ")
	if i < 0 {
		return "(no RFC sentence quoted: " + reason + ")"
	}
	r := reason[i+1:]
	return strings.TrimSuffix(r, ")")
}

// summarize builds SUMMARY.md from the reports on disk.
func summarize(out string, start time.Time) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# Conformance of pushwire and its peers\n\n")
	fmt.Fprintf(&b, "Written by `go run ./cmd/conform-peers` in peers/ (last run %s). "+
		"Each row grades one implementation in one role with pushwire's conformance harness: the whole catalogue — "+
		"Autobahn|Testsuite's 517 cases (categories 1-13, its ids and grading) and pushwire's own (15.x, 16.x) — "+
		"against the implementation's echo server (role server) or served to its client echoing every message (role client). "+
		"A case counts under the worse of its two grades (behaviour, close). "+
		"The complete reports are in reports/ (not committed; the command regenerates them). "+
		"Run time is the wall time of one implementation's role on 2 cores shared with other work, with the start; — for a report written before run.json was kept.\n\n", start.Format("2006-01-02"))
	b.WriteString("| implementation | role | cases | OK | NON-STRICT | INFORMATIONAL | UNIMPLEMENTED | FAILED | run time (started, UTC) |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n")
	var failures strings.Builder
	all := peers.ConformPeers()
	for _, p := range all {
		for _, role := range []string{"server", "client"} {
			dir := filepath.Join(out, "reports", p.Name+"-"+role)
			_, results, err := readReport(dir)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return "", err
			}
			counts := map[conformance.Outcome]int{}
			byRule := map[string][]string{}
			var rules []string
			for _, r := range results {
				counts[r.worst()]++
				if r.worst() != conformance.Failed {
					continue
				}
				reason := r.BehaviorReason
				if r.Behavior != conformance.Failed {
					reason = r.CloseReason
				}
				k := rule(reason)
				if byRule[k] == nil {
					rules = append(rules, k)
				}
				byRule[k] = append(byRule[k], r.ID)
			}
			fmt.Fprintf(&b, "| %s | %s | %d |", p.Name, role, len(results))
			for _, o := range outcomes {
				fmt.Fprintf(&b, " %d |", counts[o])
			}
			fmt.Fprintf(&b, " %s |\n", runTime(dir))
			if len(rules) > 0 {
				fmt.Fprintf(&failures, "\n**%s, %s role** (%d FAILED):\n\n", p.Name, role, counts[conformance.Failed])
				for _, k := range rules {
					fmt.Fprintf(&failures, "- %s — %s\n", idList(byRule[k]), k)
				}
			}
		}
	}
	if failures.Len() > 0 {
		b.WriteString("\n## Every FAILED case and the RFC sentence it breaks\n")
		b.WriteString(failures.String())
	}
	b.WriteString("\n## Echo apps\n\n")
	for _, p := range all {
		fmt.Fprintf(&b, "- %s: %s\n", p.Name, p.App)
	}
	if ps := peers.GWSPanics(); len(ps) > 0 {
		fmt.Fprintf(&b, "\ngws's `ReadLoop` panicked %d time(s) in this run (recovered, or the process would have died): `%s`.\n", len(ps), ps[0])
	}
	return b.String(), nil
}

// idList shortens a list of case ids: the first ten and a count.
func idList(ids []string) string {
	if len(ids) <= 10 {
		return strings.Join(ids, ", ")
	}
	return strings.Join(ids[:10], ", ") + fmt.Sprintf(" and %d more", len(ids)-10)
}
