package report

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"ftpdiag/analyze"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenCaptures are the fixtures whose reports are kept under
// testdata/golden: one of each kind of story the report tells.
var goldenCaptures = []string{
	"02-nat-pasv-curl-follow-client.pcap",        // NAT: a private address announced in 227
	"01-passive-vsftpd-curl-client.pcap",         // healthy passive session, nothing wrong
	"12-synthetic-pasv-in-use-425.pcap",          // passive port exhaustion, several sessions
	"04-active-client-firewall-curl-client.pcap", // active mode, data SYNs dropped
	"08-ipv6-eprt-vsftpd-lftp-client.pcap",       // IPv6, EPRT
}

// writer is one output format, as the golden files and the failing-writer
// test exercise it.
type writer struct {
	ext   string // golden file extension
	write func(w io.Writer, path string, a *analyze.Analysis) error
}

// writers lists every format the package writes. The JSON stream is fed
// by a fresh analysis, since its sessions come from analyze.Options.Sessions.
var writers = []writer{
	{"txt", func(w io.Writer, _ string, a *analyze.Analysis) error {
		return WriteText(w, a, TextOptions{})
	}},
	{"explain.txt", func(w io.Writer, _ string, a *analyze.Analysis) error {
		return WriteText(w, a, TextOptions{Explain: true})
	}},
	{"json", func(w io.Writer, _ string, a *analyze.Analysis) error {
		return WriteJSON(w, a, false)
	}},
	{"jsonl", func(w io.Writer, _ string, a *analyze.Analysis) error {
		return WriteJSON(w, a, true)
	}},
	{"stream.json", writeStream},
	{"html", func(w io.Writer, _ string, a *analyze.Analysis) error {
		return WriteHTML(w, a, HTMLOptions{Version: "test"})
	}},
}

// writeStream analyses path again with its sessions handed to a
// JSONStream, and finishes the stream into w.
func writeStream(w io.Writer, path string, _ *analyze.Analysis) error {
	js := NewJSONStream(false, 0)
	defer js.Close()
	a, err := analyze.Run(context.Background(), analyze.Files(path), analyze.Options{Sessions: js.Session})
	if err != nil {
		return err
	}
	return js.Finish(w, a)
}

// TestGolden writes every format for each golden capture and compares the
// bytes with testdata/golden/<capture>.<format> (go test ./report -update
// rewrites them; review the diff like code). The JSON stream must give the
// indented document itself, so it is compared with the JSON golden file
// (after it, so also when -update has just rewritten that file); every
// JSON document must match the published schema.
func TestGolden(t *testing.T) {
	schema := compileSchema(t)
	for _, name := range goldenCaptures {
		path := filepath.Join("../fixtures/captures", name)
		a := analyseFile(t, path, nil)
		stem := strings.TrimSuffix(name, filepath.Ext(name))
		for _, wr := range writers {
			t.Run(stem+"/"+wr.ext, func(t *testing.T) {
				var got bytes.Buffer
				if err := wr.write(&got, path, a); err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata/golden", stem+"."+wr.ext)
				if wr.ext == "stream.json" {
					golden = filepath.Join("testdata/golden", stem+".json")
				}
				if strings.HasSuffix(wr.ext, "json") || wr.ext == "jsonl" {
					validate(t, schema, got.Bytes())
				}
				if *update && wr.ext != "stream.json" {
					if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("golden file missing (go test ./report -update writes it): %v", err)
				}
				if !bytes.Equal(got.Bytes(), want) {
					t.Errorf("output differs from %s (go test ./report -update rewrites it; review the diff):\n%s", golden, firstDiff(string(want), got.String()))
				}
			})
		}
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile("../schema/ftpdiag-v1.schema.json")
	if err != nil {
		t.Fatalf("compiling the JSON schema: %v", err)
	}
	return s
}

// validate checks one JSON document against the schema.
func validate(t *testing.T, s *jsonschema.Schema, doc []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("report does not match schema/ftpdiag-v1.schema.json: %v", err)
	}
}

// firstDiff shows the first differing line, with its number.
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
			return fmt.Sprintf("line %d:\n  want: %.300s\n  got:  %.300s", i+1, w, g)
		}
	}
	return "(no line differs)"
}
