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

func snippet(ctx context.Context, mux *http.ServeMux) {
`

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestREADMESnippets type-checks every Go snippet of README.md: a snippet
// that starts with a package clause as a file, any other as the body of a
// function that has ctx and mux. Unused variables and imports are allowed
// (a snippet shows a piece of a program); everything else must compile.
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
			if !strings.HasPrefix(strings.TrimSpace(src), "package ") {
				src = fragmentPrelude + src + "\n}\n"
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
