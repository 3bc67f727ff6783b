// Package archtest checks the shape of the module: the pipeline's packages
// import only those before them.
package archtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// stage places each pipeline package: capture -> packets -> TCP
// connections -> FTP sessions -> findings -> comparison of captures ->
// reports and evidence -> annotated captures -> the library's front door
// -> commands and the service. A package may import only packages of an
// earlier stage. Packages not listed (internal helpers, benchmarks,
// fixture makers) are not checked; TestEveryPackageHasAStage keeps the
// list whole.
var stage = map[string]int{
	"ftpdiag/pcap":       1,
	"ftpdiag/tlsdecrypt": 1, // under ftpflow, beside pcap: the bytes of one connection
	"ftpdiag/ftpflow":    2,
	"ftpdiag/analyze":    3,
	"ftpdiag/correlate":  4, // compares the inputs as analyze.Inputs; report shows it
	"ftpdiag/report":     5,
	"ftpdiag/extract":    5,
	"ftpdiag/annotate":   6, // draws its notes from report's timelines
	"ftpdiag":            7, // Run: the analysis and its reports in one call
}

// laterStage is what every other package under cmd/ and service/ counts as.
const laterStage = 8

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
				t.Errorf("%s (stage %d) imports %s (stage %d): the pipeline runs pcap, tlsdecrypt <- ftpflow <- analyze <- correlate <- report, extract <- annotate <- ftpdiag <- cmd, service", pkg, from, dep, to)
			}
		}
	}
}

// unstaged are the directories whose packages are not part of the
// pipeline: helpers, benchmarks, fixture makers.
var unstaged = []string{"ftpdiag/internal/", "ftpdiag/bench/", "ftpdiag/fixtures"}

// TestEveryPackageHasAStage fails when a package of the module is neither
// placed in the pipeline (stage, cmd/, service/) nor among the unstaged,
// so that a new package cannot slip past TestImportsFollowThePipeline.
func TestEveryPackageHasAStage(t *testing.T) {
	for pkg := range moduleImports(t, filepath.Join("..", "..")) {
		if _, ok := stageOf(pkg); ok {
			continue
		}
		if !slices.ContainsFunc(unstaged, func(prefix string) bool { return strings.HasPrefix(pkg, prefix) }) {
			t.Errorf("package %s has no stage: place it in stage, or among unstaged", pkg)
		}
	}
}

// moduleImports maps each package of the module (those with non-test Go
// files) to the module packages its non-test files import.
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
		pkg := packagePath(root, path)
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil
		}
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

// packagePath is the import path of the package of the file at path.
func packagePath(root, path string) string {
	rel, _ := filepath.Rel(root, filepath.Dir(path))
	if rel == "." {
		return "ftpdiag"
	}
	return "ftpdiag/" + filepath.ToSlash(rel)
}
