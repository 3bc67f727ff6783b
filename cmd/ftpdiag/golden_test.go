package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const goldenDir = "cmd/ftpdiag/testdata/golden"

// TestGolden runs ftpdiag on every fixture and corpus capture and compares
// the JSON and terminal reports with the golden files; every JSON report is
// validated against the published schema.
func TestGolden(t *testing.T) {
	schema := compileSchema(t)
	t.Run("fixtures", func(t *testing.T) {
		cs := fixtureCaptures(t)
		if len(cs) == 0 {
			t.Fatal("no fixture captures found under fixtures/captures")
		}
		goldenRun(t, schema, cs)
	})
	t.Run("corpus", func(t *testing.T) {
		goldenRun(t, schema, corpusCaptures(t))
	})
}

func goldenRun(t *testing.T, schema *jsonschema.Schema, cs []capture) {
	for _, c := range cs {
		t.Run(filepath.Base(c.golden), func(t *testing.T) {
			out, errOut, code := runCLI(t, "--format", "json", "--fail-on", "never", c.path)
			if code != exitOK {
				t.Fatalf("exit %d, stderr: %s", code, errOut)
			}
			validate(t, schema, out)
			checkGolden(t, filepath.Join(goldenDir, c.golden+".json"), out)

			text, _, _ := runCLI(t, "--explain", "--fail-on", "never", c.path)
			checkGolden(t, filepath.Join(goldenDir, c.golden+".txt"), text)
		})
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile("schema/ftpdiag-v1.schema.json")
	if err != nil {
		t.Fatalf("compiling the JSON schema: %v", err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, doc string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(doc), "\n{") {
		if !strings.HasPrefix(line, "{") {
			line = "{" + line
		}
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(line))
		if err != nil {
			t.Fatalf("report is not JSON: %v", err)
		}
		if err := s.Validate(v); err != nil {
			t.Fatalf("report does not match schema/ftpdiag-v1.schema.json: %v", err)
		}
		var probe map[string]any
		if err := json.Unmarshal([]byte(line), &probe); err != nil {
			t.Fatal(err)
		}
	}
}

// TestThreadsGiveSameReport checks that reading ahead on another core
// changes nothing in the report, on every fixture and corpus capture.
func TestThreadsGiveSameReport(t *testing.T) {
	cs := fixtureCaptures(t)
	if _, err := os.Stat(corpusDir); err == nil {
		cs = append(cs, corpusCaptures(t)...)
	}
	for _, c := range cs {
		one, _, _ := runCLI(t, "--format", "json", "--threads", "1", c.path)
		two, _, _ := runCLI(t, "--format", "json", "--threads", "2", c.path)
		if one != two {
			t.Errorf("%s: --threads 2 gives another report than --threads 1:\n%s", c.path, firstDiff(one, two))
		}
	}
}
