package wsproto

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"strings"
	"testing"
)

// maxExported is the most exported names `go doc` may show for wsproto:
// the connection API only, the frame codec being wsproto/frame (issue 17).
const maxExported = 50

// TestExportedNames counts what go doc shows of the package (constants,
// variables, functions, types and their exported methods; struct fields
// not counted), as scripts/apicount.go prints them, and fails past
// maxExported.
func TestExportedNames(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := pkgs["wsproto"]
	if !ok {
		t.Fatal("package wsproto not found")
	}
	var names []string
	d := doc.New(p, "", 0)
	values := func(vs []*doc.Value) {
		for _, v := range vs {
			names = append(names, v.Names...)
		}
	}
	values(d.Consts)
	values(d.Vars)
	for _, f := range d.Funcs {
		names = append(names, f.Name)
	}
	for _, typ := range d.Types {
		names = append(names, typ.Name)
		values(typ.Consts)
		values(typ.Vars)
		for _, f := range typ.Funcs {
			names = append(names, f.Name)
		}
		for _, m := range typ.Methods {
			if ast.IsExported(m.Name) {
				names = append(names, typ.Name+"."+m.Name)
			}
		}
	}
	if len(names) > maxExported {
		t.Errorf("wsproto exports %d names, want at most %d: %s", len(names), maxExported, strings.Join(names, " "))
	}
}
