// Package archtest checks the shape of the module: the pipeline's packages
// import only those before them.
package archtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// stage places each pipeline package: capture -> packets -> TCP
// connections -> FTP sessions -> findings -> reports and evidence ->
// commands and the service. A package may import only packages of an
// earlier stage. Packages not listed (internal helpers) are not checked.
var stage = map[string]int{
	"ftpdiag/pcap":    1,
	"ftpdiag/ftpflow": 2,
	"ftpdiag/analyze": 3,
	"ftpdiag/report":  4,
	"ftpdiag/extract": 4,
}

// laterStage is what every other package under cmd/ and service/ counts as.
const laterStage = 5

func stageOf(pkg string) (int, bool) {
	if n, ok := stage[pkg]; ok {
		return n, true
	}
	if strings.HasPrefix(pkg, "ftpdiag/cmd/") || pkg == "ftpdiag/service" || strings.HasPrefix(pkg, "ftpdiag/service/") {
		return laterStage, true
	}
	return 0, false
}

// TestImportsFollowThePipeline fails when a package imports one of its own
// stage or a later one (report importing cmd, ftpflow importing analyze),
// in its non-test files.
func TestImportsFollowThePipeline(t *testing.T) {
	root := filepath.Join("..", "..")
	imports := moduleImports(t, root)
	if len(imports["ftpdiag/analyze"]) == 0 {
		t.Fatalf("found no imports of ftpdiag/analyze under %s: the walk is broken", root)
	}
	for pkg, deps := range imports {
		from, ok := stageOf(pkg)
		if !ok {
			continue
		}
		for _, dep := range deps {
			to, ok := stageOf(dep)
			if ok && to >= from && !(from == laterStage && to == laterStage) {
				t.Errorf("%s (stage %d) imports %s (stage %d): the pipeline runs pcap <- ftpflow <- analyze <- report, extract <- cmd, service", pkg, from, dep, to)
			}
		}
	}
}

// moduleImports maps each package of the module to the module packages
// its non-test files import.
func moduleImports(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := "ftpdiag/" + filepath.ToSlash(rel)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "ftpdiag/") {
				out[pkg] = append(out[pkg], p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
