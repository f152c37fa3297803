package arch

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"regexp/syntax"
	"strconv"
	"strings"
	"testing"
)

// maxInitRegexpInsts bounds the compiled size of a regular expression hush
// compiles at start-up (a package-level regexp.MustCompile in a package
// cmd/hush links): every command pays for it before main, hush run
// included. The largest today is 25 instructions; a bounded repeat
// such as [a-z]{0,255} is over 500 and cost a millisecond (issue #18).
// Check a length apart, or compile a large one lazily (sync.OnceValue).
const maxInitRegexpInsts = 200

func TestStartupRegexpsSmall(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{if .Module}}{{if eq .Module.Path "`+strings.TrimSuffix(module, "/")+`"}}{{.Dir}}{{end}}{{end}}`, module+"cmd/hush").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dirs := strings.Fields(string(out))
	if len(dirs) < 10 {
		t.Fatalf("only %d packages listed; is go list seeing the module?", len(dirs))
	}
	// seen counts every package-level regexp.MustCompile, compiled at
	// start-up or on first use (sync.OnceValue): proof the walk sees them,
	// however few are left at start-up.
	seen := 0
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		fset := token.NewFileSet()
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, decl := range file.Decls {
				gen, ok := decl.(*ast.GenDecl)
				if !ok || gen.Tok != token.VAR {
					continue
				}
				for _, expr := range initExprs(gen) {
					ast.Inspect(expr, func(n ast.Node) bool {
						if call, ok := n.(*ast.CallExpr); ok && isMustCompile(call) {
							seen++
						}
						return true
					})
					for _, lit := range mustCompiles(expr) {
						pattern, err := strconv.Unquote(lit.Value)
						if err != nil {
							t.Fatal(err)
						}
						if n := regexpInsts(t, pattern); n > maxInitRegexpInsts {
							t.Errorf("%s: a regexp compiled at start-up has %d instructions (at most %d): %s",
								fset.Position(lit.Pos()), n, maxInitRegexpInsts, pattern)
						}
					}
				}
			}
		}
	}
	if seen < 5 {
		t.Fatalf("only %d package-level regexps found; is the walk seeing them?", seen)
	}
}

func initExprs(gen *ast.GenDecl) []ast.Expr {
	var out []ast.Expr
	for _, spec := range gen.Specs {
		out = append(out, spec.(*ast.ValueSpec).Values...)
	}
	return out
}

// mustCompiles are the literal patterns of the regexp.MustCompile calls
// that run when expr is evaluated: inside a function literal only when it
// is called on the spot, not when it is handed over to run later.
func mustCompiles(expr ast.Expr) []*ast.BasicLit {
	var out []*ast.BasicLit
	var walk func(n ast.Node) bool
	walk = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if fn, ok := n.Fun.(*ast.FuncLit); ok {
				ast.Inspect(fn.Body, walk)
				for _, a := range n.Args {
					ast.Inspect(a, walk)
				}
				return false
			}
			if isMustCompile(n) {
				if lit, ok := n.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					out = append(out, lit)
				}
			}
		case *ast.FuncLit:
			return false
		}
		return true
	}
	ast.Inspect(expr, walk)
	return out
}

// isMustCompile says call is regexp.MustCompile(pattern).
func isMustCompile(call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "MustCompile" || len(call.Args) != 1 {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == "regexp"
}

func regexpInsts(t *testing.T, pattern string) int {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		t.Fatalf("%s: %v", pattern, err)
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		t.Fatalf("%s: %v", pattern, err)
	}
	return len(prog.Inst)
}
