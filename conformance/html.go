package conformance

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
)

// HTML returns the report as a self-contained HTML page (no external
// assets): the outcome counts, a grid of every case coloured by outcome,
// and each case's description, expectation, grades and events.
func (r *Report) HTML() []byte {
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, r); err != nil {
		// The template is fixed and the data plain: an error is a bug.
		return []byte("<!doctype html><title>report</title><pre>" + template.HTMLEscapeString(err.Error()) + "</pre>")
	}
	return buf.Bytes()
}

// category returns a case id's first component ("6" for "6.4.1").
func category(id string) string {
	c, _, _ := strings.Cut(id, ".")
	return c
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"cls":  func(o Outcome) string { return strings.ToLower(o.String()) },
	"anch": func(id string) string { return "case-" + strings.ReplaceAll(id, ".", "-") },
	"newCat": func(rs []*Result, i int) bool {
		return i == 0 || category(rs[i].ID) != category(rs[i-1].ID)
	},
	"cat": category,
	"code": func(c int) string {
		if c == 0 {
			return "–"
		}
		return fmt.Sprint(c)
	},
	"counts": func(r *Report) []countCell {
		c := r.Counts()
		var out []countCell
		for o := OK; o <= Failed; o++ {
			out = append(out, countCell{o, c[o]})
		}
		return out
	},
}).Parse(reportHTML))

type countCell struct {
	Outcome Outcome
	N       int
}

const reportHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pushwire conformance: {{.Agent}} ({{.Role}})</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .3em}
.meta{color:#555;margin-bottom:1em}
.ok{background:#4caf50;color:#fff}.informational{background:#9e9e9e;color:#fff}
.unimplemented{background:#795548;color:#fff}.non-strict{background:#ff9800;color:#000}
.failed{background:#e53935;color:#fff}
.counts span{display:inline-block;padding:.2em .6em;margin-right:.4em;border-radius:3px}
.grid{display:flex;flex-wrap:wrap;gap:2px;margin:1em 0}
.grid a{display:block;width:5.2em;padding:2px 0;text-align:center;font-size:11px;text-decoration:none;border-radius:2px}
.grid .cat{width:100%;font-weight:bold;margin-top:.5em}
table{border-collapse:collapse;width:100%;background:#fff}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eee}
details{background:#fff;border:1px solid #ddd;margin:4px 0;padding:4px 8px}
summary{cursor:pointer}
summary .tag{display:inline-block;min-width:8em;text-align:center;border-radius:2px;margin-left:.4em}
.ev td{font:12px ui-monospace,monospace;white-space:pre-wrap;word-break:break-all}
.sent{color:#1565c0}.recv{color:#2e7d32}.note{color:#777}
</style></head><body>
<h1>Conformance of {{.Agent}} as a WebSocket {{.Role}}</h1>
<div class="meta">{{if .Target}}Target {{.Target}} · {{end}}{{if .Strict}}with -strict · {{end}}started {{.Started.Format "2006-01-02 15:04:05 MST"}} · {{printf "%.1f" .DurationMS}} ms · {{len .Results}} cases</div>
<div class="counts">{{range counts .}}<span class="{{cls .Outcome}}">{{.Outcome}}: {{.N}}</span>{{end}}</div>
<p>Each cell is a case, coloured by the worse of its two grades (behaviour and close); click it for the details.</p>
<div class="grid">{{$rs := .Results}}{{range $i, $r := .Results}}{{if newCat $rs $i}}<div class="cat">{{cat $r.ID}}.x</div>{{end}}<a class="{{cls $r.Worst}}" href="#{{anch $r.ID}}" title="{{$r.ID}}: {{$r.Behavior}} / {{$r.BehaviorClose}}">{{$r.ID}}</a>{{end}}</div>
<h2>Cases</h2>
{{range .Results}}<details id="{{anch .ID}}"><summary><b>{{.ID}}</b> <span class="tag {{cls .Behavior}}">{{.Behavior}}</span><span class="tag {{cls .BehaviorClose}}">close {{.BehaviorClose}}</span> {{.Description}}</summary>
<table>
<tr><th>Expectation</th><td>{{.Expectation}}</td></tr>
<tr><th>Behaviour</th><td class="{{cls .Behavior}}">{{.Behavior}}</td></tr><tr><th></th><td>{{.BehaviorReason}}</td></tr>
<tr><th>Close</th><td class="{{cls .BehaviorClose}}">{{.BehaviorClose}}</td></tr><tr><th></th><td>{{.CloseReason}}</td></tr>
<tr><th>Remote close code</th><td>{{code .RemoteCloseCode}} {{.RemoteCloseReason}}</td></tr>
<tr><th>Closed by harness</th><td>{{.ClosedByMe}}</td></tr>
{{if .Extensions}}<tr><th>Extensions</th><td>{{.Extensions}}</td></tr>{{end}}
<tr><th>Duration</th><td>{{printf "%.2f" .DurationMS}} ms</td></tr>
</table>
<table class="ev"><tr><th>ms</th><th>dir</th><th>kind</th><th>details</th></tr>
{{range $j, $e := .Events}}{{if lt $j 60}}{{with $e}}<tr class="{{.Dir}}"><td>{{printf "%.2f" .At}}</td><td>{{.Dir}}</td><td>{{.Kind}}</td><td>{{if .Opcode}}{{.Opcode}} {{end}}{{if .Fin}}fin {{end}}{{if .Rsv}}rsv={{.Rsv}} {{end}}{{if .Len}}len={{.Len}} {{end}}{{if .Code}}code={{.Code}} {{end}}{{.Reason}} {{.Data}} {{.Text}}</td></tr>
{{end}}{{end}}{{end}}{{if gt (len .Events) 60}}<tr class="note"><td colspan="4">{{len .Events}} events in all: see the case's JSON file</td></tr>{{end}}</table></details>
{{end}}
</body></html>
`
