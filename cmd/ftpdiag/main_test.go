package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// repoRoot is the repository root, seen from this package's directory,
// where tests run.
const repoRoot = "../.."

// corpusDir is the shared public capture corpus, beside the project.
const corpusDir = repoRoot + "/../shared/corpus"

// runCLI runs the command in-process.
func runCLI(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// capture is one capture file the golden tests run on.
type capture struct {
	path   string // as given on the command line, from this package's directory
	shown  string // as a user types it at the repository root, which the golden files show
	golden string // golden file stem under testdata/golden
}

// newCapture describes the capture at path (from this package's directory).
func newCapture(path, golden string) capture {
	shown, err := filepath.Rel(repoRoot, path)
	if err != nil {
		shown = path
	}
	return capture{path, filepath.ToSlash(shown), golden}
}

// fixtureCaptures lists the project's own captures.
func fixtureCaptures(t testing.TB) []capture {
	t.Helper()
	paths, err := filepath.Glob(repoRoot + "/fixtures/captures/*.pcap*")
	if err != nil {
		t.Fatal(err)
	}
	var cs []capture
	for _, p := range paths {
		cs = append(cs, newCapture(p, "fixtures/"+strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))))
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
		cs = append(cs, newCapture(p, "corpus/"+strings.NewReplacer("/", "__", ".pcap.gz", "", ".pcapng", "", ".pcap", "").Replace(rel)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].path < cs[j].path })
	return cs
}

// asShown rewrites a report of the capture given on the command line as
// c.path into the report of the same capture given as c.shown, the name
// the golden files hold: the JSON "file" strings, and in the terminal
// report the cell of the inputs table (whose first column then takes the
// width of the new name) and the warnings that name the file.
func asShown(out string, c capture) string {
	if c.path == c.shown {
		return out
	}
	q := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b)
	}
	out = strings.ReplaceAll(out, q(c.path), q(c.shown))
	given, shown := fileCell(c.path), fileCell(c.shown)
	out = strings.ReplaceAll(out, "  warning: "+given+": ", "  warning: "+shown+": ")
	lines := strings.Split(out, "\n")
	start := slices.Index(lines, "Inputs")
	if start < 0 || start+1 >= len(lines) || !strings.HasPrefix(lines[start+1], "┌") {
		return out
	}
	end := start + 1
	for end < len(lines) && !strings.HasPrefix(lines[end], "└") {
		end++
	}
	if end == len(lines) {
		return out
	}
	// Cut each line of the table around its first column; rename the file
	// cells; draw the column again, as wide as its widest text.
	type split struct {
		lead       rune // ┌, ├, └ on a border, │ on a row of text
		text, rest string
	}
	rows := make([]split, 0, end-start)
	width := 0
	for _, line := range lines[start+1 : end+1] {
		r := []rune(line)
		j := 1
		for j < len(r) && !strings.ContainsRune("│┬┼┴", r[j]) {
			j++
		}
		row := split{lead: r[0], rest: string(r[j:])}
		if row.lead == '│' {
			row.text = strings.TrimSpace(string(r[1:j]))
			if row.text == given {
				row.text = shown
			}
			width = max(width, utf8.RuneCountInString(row.text))
		}
		rows = append(rows, row)
	}
	for i, row := range rows {
		if row.lead == '│' {
			lines[start+1+i] = "│ " + row.text + strings.Repeat(" ", width-utf8.RuneCountInString(row.text)) + " " + row.rest
		} else {
			lines[start+1+i] = string(row.lead) + strings.Repeat("─", width+2) + row.rest
		}
	}
	return strings.Join(lines, "\n")
}

// fileCell is a file name as the terminal report's inputs table shows it:
// cut to 48 bytes with "..." (report's maxCell).
func fileCell(name string) string {
	const maxCell = 48
	if len(name) <= maxCell {
		return name
	}
	cut := maxCell - 3
	for cut > 0 && name[cut]&0xc0 == 0x80 {
		cut--
	}
	return name[:cut] + "..."
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
