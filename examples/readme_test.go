// Package examples holds the programs of examples/ and the test that
// compiles every Go snippet of the README.
package examples

import (
	"fmt"
	"go/version"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// snippet is one ```go block of the README.
type snippet struct {
	line int // where its code starts
	code string
}

// goSnippets returns the ```go blocks of a Markdown text.
func goSnippets(md string) []snippet {
	var out []snippet
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```go" {
			continue
		}
		start := i + 1
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
		}
		out = append(out, snippet{line: start + 1, code: strings.Join(lines[start:i], "\n")})
	}
	return out
}

// imports maps the package names a snippet may use to their paths.
var imports = map[string]string{
	"context":    "context",
	"errors":     "errors",
	"flate":      "compress/flate",
	"fmt":        "fmt",
	"http":       "net/http",
	"io":         "io",
	"json":       "encoding/json",
	"log":        "log",
	"os":         "os",
	"strconv":    "strconv",
	"strings":    "strings",
	"time":       "time",
	"handshake":  "github.com/pushwire/pushwire/handshake",
	"httpstream": "github.com/pushwire/pushwire/httpstream",
	"hub":        "github.com/pushwire/pushwire/hub",
	"sseproto":   "github.com/pushwire/pushwire/sseproto",
	"wsproto":    "github.com/pushwire/pushwire/wsproto",
	"frame":      "github.com/pushwire/pushwire/wsproto/frame",
	"reconnect":  "github.com/pushwire/pushwire/wsproto/reconnect",
	"wsjson":     "github.com/pushwire/pushwire/wsproto/wsjson",
	"jetstream":  "github.com/pushwire/pushwire/engines/jetstream",
}

// returnsValue finds a fragment that returns a value (an error), which
// then goes into a function returning error.
var returnsValue = regexp.MustCompile(`(?m)^\s*return \S`)

var qualified = regexp.MustCompile(`\b([a-z][a-z0-9]*)\.[A-Z]`)

// program turns a snippet into a Go file: a whole file as it is, or a
// fragment as the body of a function that has ctx (a context.Context) and
// mux (an *http.ServeMux) at hand, with the imports it uses; the function
// returns an error if the fragment returns a value.
func program(code string) string {
	if strings.HasPrefix(strings.TrimSpace(code), "package ") {
		return code
	}
	used := map[string]bool{"context": true, "http": true}
	for _, m := range qualified.FindAllStringSubmatch(code, -1) {
		if _, ok := imports[m[1]]; ok {
			used[m[1]] = true
		}
	}
	var paths []string
	for name := range used {
		paths = append(paths, fmt.Sprintf("%q", imports[name]))
	}
	sort.Strings(paths)
	sig, end := "func snippet() {", "}"
	if returnsValue.MatchString(code) {
		sig, end = "func snippet() error {", "\treturn nil\n}"
	}
	return "package main\n\nimport (\n\t" + strings.Join(paths, "\n\t") + "\n)\n\n" +
		"func main() {}\n\n" + sig + "\n\tctx := context.Background()\n\tmux := http.NewServeMux()\n\t_, _ = ctx, mux\n" +
		code + "\n" + end + "\n"
}

// modGo returns the go directive of a go.mod file.
func modGo(t *testing.T, gomod string) string {
	b, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	return "1.25"
}

// TestREADME compiles and vets every Go snippet of the README, in a module
// of its own, in a workspace with this module and the engine modules that
// the snippets may import.
func TestREADME(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH to compile the README's snippets with")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	snippets := goSnippets(string(md))
	enginesUsed := false
	if n := strings.Count(string(md), "```go\n"); len(snippets) != n || n == 0 {
		t.Fatalf("parsed %d Go snippets out of the README's %d", len(snippets), n)
	}
	dir := t.TempDir()
	// In a workspace the modules of the repository need no require lines.
	gomod := "module readmecheck\n\ngo 1.25\n"
	// The engine modules need the Go release their go.mod names; with an
	// older one (the Go 1.25 check of CI) the snippets that use them are
	// left out.
	workGo := "1.25"
	uses := []string{".", root}
	engines, _ := filepath.Glob(filepath.Join(root, "engines", "*", "go.mod"))
	for _, m := range engines {
		need := modGo(t, m)
		if version.Compare(runtime.Version(), "go"+need) < 0 {
			t.Logf("%s needs Go %s: its snippets are not compiled with %s", filepath.Dir(m), need, runtime.Version())
			continue
		}
		if version.Compare("go"+need, "go"+workGo) > 0 {
			workGo = need
		}
		uses = append(uses, filepath.Dir(m))
		enginesUsed = true
	}
	gowork := "go " + workGo + "\n\nuse (\n\t" + strings.Join(uses, "\n\t") + "\n)\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.work"), []byte(gowork), 0o644); err != nil {
		t.Fatal(err)
	}
	compiled := 0
	for _, s := range snippets {
		if !enginesUsed && strings.Contains(s.code, "jetstream.") {
			continue
		}
		compiled++
		pkg := filepath.Join(dir, fmt.Sprintf("readme_line_%d", s.line))
		if err := os.Mkdir(pkg, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pkg, "main.go"), []byte(program(s.code)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(gobin, "vet", "./...")
	cmd.Dir = dir
	// The go command in PATH is the one running this test (go test puts
	// its toolchain first), so the snippets compile with the same release.
	cmd.Env = append(os.Environ(), "GOWORK="+filepath.Join(dir, "go.work"), "GOFLAGS=", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("README snippets fail to compile or vet (directory readme_line_N is the snippet starting at README.md line N):\n%s", out)
	}
	t.Logf("%d of %d snippets compiled", compiled, len(snippets))
}
