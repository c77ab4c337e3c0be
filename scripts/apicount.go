//go:build ignore

// apicount prints the exported names of a package as go doc shows them:
// constants, variables, functions, types, and the exported methods of
// exported types (struct fields are not counted).
//
//	go run scripts/apicount.go ./wsproto
package main

import (
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"sort"
	"strings"
)

func main() {
	dir := "."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, parser.ParseComments)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var names []string
	for _, p := range pkgs {
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
		for _, t := range d.Types {
			names = append(names, t.Name)
			values(t.Consts)
			values(t.Vars)
			for _, f := range t.Funcs {
				names = append(names, f.Name)
			}
			for _, m := range t.Methods {
				if ast.IsExported(m.Name) {
					names = append(names, t.Name+"."+m.Name)
				}
			}
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Println(n)
	}
	fmt.Printf("%d exported names\n", len(names))
}
