package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"ftpdiag/report"
)

const goldenDir = "testdata/golden"

// TestGolden runs ftpdiag on every fixture and corpus capture and compares
// the JSON and terminal reports with the golden files, which show each
// capture under the name a user types at the repository root (asShown);
// every JSON report is validated against the published schema.
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
			docs := validate(t, schema, out)
			if len(docs) != 1 || len(docs[0].Inputs) != 1 || docs[0].Inputs[0].File != c.path {
				t.Errorf("want one document whose one input is %s; got %+v", c.path, docs)
			}
			checkGolden(t, filepath.Join(goldenDir, c.golden+".json"), asShown(out, c))

			text, errOut, code := runCLI(t, "--explain", "--fail-on", "never", c.path)
			if code != exitOK {
				t.Errorf("text report: exit %d, stderr: %s", code, errOut)
			}
			checkGolden(t, filepath.Join(goldenDir, c.golden+".txt"), asShown(text, c))
		})
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile(repoRoot + "/schema/ftpdiag-v1.schema.json")
	if err != nil {
		t.Fatalf("compiling the JSON schema: %v", err)
	}
	return s
}

// document is what the tests read of a report.
type document struct {
	Schema string
	Inputs []struct{ File string }
}

// validate checks that out is one JSON document, or several (JSON Lines),
// each matching the schema, and returns them.
func validate(t *testing.T, s *jsonschema.Schema, out string) []document {
	t.Helper()
	var docs []document
	dec := json.NewDecoder(strings.NewReader(out))
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("report is not JSON (document %d): %v", len(docs)+1, err)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("report is not JSON (document %d): %v", len(docs)+1, err)
		}
		if err := s.Validate(v); err != nil {
			t.Fatalf("report does not match schema/ftpdiag-v1.schema.json: %v", err)
		}
		var doc document
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Schema != report.Schema || len(doc.Inputs) == 0 {
			t.Errorf("document %d: schema %q, %d inputs; want %q and at least one", len(docs)+1, doc.Schema, len(doc.Inputs), report.Schema)
		}
		docs = append(docs, doc)
	}
	if len(docs) == 0 {
		t.Fatal("no JSON document")
	}
	return docs
}

// TestThreadsGiveSameReport checks that reading ahead on another core
// changes nothing in the report, on every fixture and corpus capture.
func TestThreadsGiveSameReport(t *testing.T) {
	cs := fixtureCaptures(t)
	if _, err := os.Stat(corpusDir); err == nil {
		cs = append(cs, corpusCaptures(t)...)
	}
	for _, c := range cs {
		one, errOne, codeOne := runCLI(t, "--format", "json", "--threads", "1", c.path)
		two, errTwo, codeTwo := runCLI(t, "--format", "json", "--threads", "2", c.path)
		if one != two {
			t.Errorf("%s: --threads 2 gives another report than --threads 1:\n%s", c.path, firstDiff(one, two))
		}
		if codeOne != codeTwo || errOne != errTwo {
			t.Errorf("%s: --threads 1 exits %d, --threads 2 exits %d; stderr:\n%s\nand:\n%s", c.path, codeOne, codeTwo, errOne, errTwo)
		}
		if codeOne == exitUsage || codeOne == exitOutput {
			t.Errorf("%s: exit %d; stderr:\n%s", c.path, codeOne, errOne)
		}
	}
}
