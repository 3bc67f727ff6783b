package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// corpusDir is the shared public capture corpus, beside the project.
const corpusDir = "../shared/corpus"

// TestMain runs the tests from the repository root, so that file names in
// reports are the same as a user typing them there.
func TestMain(m *testing.M) {
	flag.Parse()
	if err := os.Chdir("../.."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// runCLI runs the command in-process.
func runCLI(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// capture is one capture file the golden tests run on.
type capture struct {
	path   string // as given on the command line, from the repository root
	golden string // golden file stem under cmd/ftpdiag/testdata/golden
}

// fixtureCaptures lists the project's own captures.
func fixtureCaptures(t testing.TB) []capture {
	t.Helper()
	paths, err := filepath.Glob("fixtures/captures/*.pcap*")
	if err != nil {
		t.Fatal(err)
	}
	var cs []capture
	for _, p := range paths {
		cs = append(cs, capture{p, "fixtures/" + strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))})
	}
	return cs
}

// corpusCaptures lists the shared corpus's captures, or skips the test when
// the corpus is not there (a user's clone); under CI it must be.
func corpusCaptures(t testing.TB) []capture {
	t.Helper()
	if _, err := os.Stat(corpusDir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but the shared corpus is missing: %v", err)
		}
		t.Skipf("skipping: the shared capture corpus %s is not beside the project (it is in CI)", corpusDir)
	}
	var cs []capture
	err := filepath.WalkDir(corpusDir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() || !(strings.HasSuffix(name, ".pcap") || strings.HasSuffix(name, ".pcapng") || strings.HasSuffix(name, ".pcap.gz")) {
			return nil
		}
		rel, _ := filepath.Rel(corpusDir, p)
		cs = append(cs, capture{p, "corpus/" + strings.NewReplacer("/", "__", ".pcap.gz", "", ".pcapng", "", ".pcap", "").Replace(rel)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].path < cs[j].path })
	return cs
}

// checkGolden compares got with the golden file, or rewrites it with -update.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file missing (run go test ./cmd/ftpdiag -update): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test ./cmd/ftpdiag -update and review the diff):\n%s", path, firstDiff(string(want), got))
	}
}

// firstDiff shows the first differing line.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, w, g)
		}
	}
	return "(no line differs)"
}
