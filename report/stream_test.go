package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
)

// analyseFile runs the analysis of one capture, handing sessions to
// onSession when it is set.
func analyseFile(t *testing.T, path string, onSession func(*ftpflow.Session, []analyze.Finding)) *analyze.Analysis {
	t.Helper()
	a, err := analyze.Run(context.Background(), analyze.Files(path), analyze.Options{Sessions: onSession})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestJSONStreamMatchesWriteJSON: on every fixture, the document a
// JSONStream writes from sessions handed on during the analysis is byte for
// byte the one WriteJSON writes from the whole analysis (itself checked
// against encoding/json by the golden tests), indented and on one line,
// held in memory, moved to a temporary file after a few bytes, or kept in
// memory when no temporary file can be made; and no temporary file is left.
func TestJSONStreamMatchesWriteJSON(t *testing.T) {
	paths, _ := filepath.Glob("../fixtures/captures/*.pcap*")
	if len(paths) == 0 {
		t.Fatal("no fixtures in ../fixtures/captures")
	}
	tmp := t.TempDir()
	cases := []struct {
		name   string
		memory int
		tmpdir string
	}{
		{"in memory", 0, tmp},
		{"temporary file", 100, tmp},
		{"no temporary directory", 100, filepath.Join(tmp, "missing")},
	}
	for _, path := range paths {
		whole := analyseFile(t, path, nil)
		for _, oneLine := range []bool{false, true} {
			var want bytes.Buffer
			if err := WriteJSON(&want, whole, oneLine); err != nil {
				t.Fatal(err)
			}
			for _, c := range cases {
				t.Run(filepath.Base(path)+"/"+c.name, func(t *testing.T) {
					t.Setenv("TMPDIR", c.tmpdir)
					js := NewJSONStream(oneLine, c.memory)
					a := analyseFile(t, path, js.Session)
					var got bytes.Buffer
					if err := js.Finish(&got, a); err != nil {
						t.Fatal(err)
					}
					if left, _ := os.ReadDir(tmp); len(left) > 0 {
						t.Errorf("temporary files visible: %v", left)
					}
					spilled := js.sessions.file != nil
					if want := c.name == "temporary file" && len(whole.Sessions) > 0; spilled != want {
						t.Errorf("sessions in a temporary file: %v, want %v", spilled, want)
					}
					if err := js.Close(); err != nil {
						t.Error(err)
					}
					if !bytes.Equal(got.Bytes(), want.Bytes()) {
						t.Errorf("stream differs from WriteJSON (one line %v)\n got: %.300s\nwant: %.300s", oneLine, got.String(), want.String())
					}
				})
			}
		}
	}
}

// TestWriteJSONIsEncodingJSON: on every fixture, WriteJSON writes byte for
// byte what encoding/json makes of Build's document, indented by two spaces
// or on one line.
func TestWriteJSONIsEncodingJSON(t *testing.T) {
	paths, _ := filepath.Glob("../fixtures/captures/*.pcap*")
	for _, path := range paths {
		a := analyseFile(t, path, nil)
		doc := Build(a)
		for _, oneLine := range []bool{false, true} {
			var got bytes.Buffer
			if err := WriteJSON(&got, a, oneLine); err != nil {
				t.Fatal(err)
			}
			want, err := json.MarshalIndent(doc, "", "  ")
			if oneLine {
				want, err = json.Marshal(doc)
			}
			if err != nil {
				t.Fatal(err)
			}
			if want = append(want, '\n'); !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s (one line %v): WriteJSON differs from encoding/json", filepath.Base(path), oneLine)
			}
		}
	}
}

// failingFile is a temporary file whose writes fail after the first few
// bytes, as on a full disk.
type failingFile struct {
	*os.File
	room int
}

func (f *failingFile) Write(b []byte) (int, error) {
	if len(b) > f.room {
		n, _ := f.File.Write(b[:f.room])
		f.room = 0
		return n, errors.New("no space left on device")
	}
	f.room -= len(b)
	return f.File.Write(b)
}

// TestSpoolFallsBackToMemory: when a write to the temporary file fails,
// the spool reads back what the file held and goes on in memory, losing
// nothing.
func TestSpoolFallsBackToMemory(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "spool")
	if err != nil {
		t.Fatal(err)
	}
	sp := spool{limit: 4}
	if _, err := sp.write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	sp.file = &failingFile{File: f, room: 5}
	sp.mem = nil
	if _, err := f.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for _, s := range []string{"def", "ghi", "jkl"} {
		off, err := sp.write([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		offs = append(offs, off)
	}
	if sp.file != nil {
		t.Error("still writing to the failing file")
	}
	got, _ := io.ReadAll(sp.section(0, sp.size))
	if string(got) != "abcdefghijkl" || !slices.Equal(offs, []int64{3, 6, 9}) {
		t.Errorf("spool holds %q, offsets %v", got, offs)
	}
	if err := sp.close(); err != nil {
		t.Error(err)
	}
}

// TestFinishAfterClose is an error, not a panic.
func TestFinishAfterClose(t *testing.T) {
	js := NewJSONStream(false, 0)
	if err := js.Close(); err != nil {
		t.Fatal(err)
	}
	if err := js.Finish(io.Discard, &analyze.Analysis{}); err == nil {
		t.Error("Finish after Close succeeded")
	}
}
