package pushwire_test

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"regexp"
	"strings"
	"testing"
)

// fragmentPrelude wraps a README snippet that is not a whole file: the
// imports a snippet may use, and the names it may take as given.
const fragmentPrelude = `package snippet

import (
	"compress/flate"
	"context"
	"errors"
	"log"
	"net/http"
	"time"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/httpstream"
	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/sseproto"
	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

func snippet(ctx context.Context, mux *http.ServeMux) error {
`

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// otherModules are the packages of other modules that README snippets use,
// with the test file of that module that compiles the snippet: the test
// checks that the file holds the snippet's lines, in order.
var otherModules = map[string]string{
	"jetstream.": "engines/jetstream/example_test.go",
}

// TestREADMESnippets type-checks every Go snippet of README.md: a snippet
// that starts with a package clause as a file, any other as the body of a
// function that has ctx and mux and returns an error. Unused variables and
// imports are allowed (a snippet shows a piece of a program); everything
// else must compile. A snippet that uses another module's package (an
// engine) must appear in that module's example, which compiles it there.
func TestREADMESnippets(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlock.FindAllStringSubmatch(string(b), -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no Go snippets")
	}
	imp := importer.ForCompiler(token.NewFileSet(), "source", nil)
	for i, m := range blocks {
		src := m[1]
		t.Run(fmt.Sprint(i+1), func(t *testing.T) {
			for use, file := range otherModules {
				if strings.Contains(src, use) {
					inOrder(t, src, file)
					return
				}
			}
			if !strings.HasPrefix(strings.TrimSpace(src), "package ") {
				src = fragmentPrelude + src + "\nreturn nil\n}\n"
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "README.md snippet", src, 0)
			if err != nil {
				t.Fatalf("snippet %d does not parse: %v\n%s", i+1, err, src)
			}
			var hard []string
			conf := types.Config{Importer: imp, Error: func(err error) {
				if te, ok := err.(types.Error); ok && te.Soft {
					return // declared and not used, imported and not used
				}
				hard = append(hard, err.Error())
			}}
			conf.Check("snippet", fset, []*ast.File{f}, nil)
			if len(hard) > 0 {
				t.Errorf("snippet %d does not compile:\n%s\n%s", i+1, strings.Join(hard, "\n"), src)
			}
		})
	}
}

// inOrder checks that file holds the non-blank lines of snippet, each
// trimmed of indentation, in the same order.
func inOrder(t *testing.T, snippet, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		lines = append(lines, strings.TrimSpace(l))
	}
	at := 0
	for _, l := range strings.Split(snippet, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		for at < len(lines) && lines[at] != l {
			at++
		}
		if at == len(lines) {
			t.Fatalf("%s, which compiles this README snippet, lacks its line %q (or has it out of order)", file, l)
		}
		at++
	}
}
