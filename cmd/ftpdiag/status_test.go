package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Captures the exit-status tests run on, from this package's directory.
const (
	failingCapture = repoRoot + "/fixtures/captures/02-nat-pasv-curl-follow-client.pcap" // an error finding
	healthyCapture = repoRoot + "/fixtures/captures/01-passive-vsftpd-curl-client.pcap"  // none
)

// TestExitStatus: the exit status follows one rule whatever the format:
// 3 when something asked for could not be written, 2 when nothing at all
// could be read (or bad usage), else 1 when a finding reaches --fail-on.
func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	aFile := filepath.Join(dir, "a-file")
	if err := os.WriteFile(aFile, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pcap")
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"negative --max-connections", []string{"--max-connections", "-1", healthyCapture}, exitUsage},
		{"zero --max-sessions", []string{"--max-sessions", "0", healthyCapture}, exitUsage},
		{"negative --threads", []string{"--threads", "-1", healthyCapture}, exitUsage},
		{"only a missing file", []string{missing}, exitUsage},
		{"--each: a missing file does not hide an error", []string{"--each", missing, failingCapture}, exitFindings},
		{"--each json: a missing file does not hide an error", []string{"--each", "--format", "json", missing, failingCapture}, exitFindings},
		{"--each: a missing file beside a clean one", []string{"--each", missing, healthyCapture}, exitOK},
		{"merged: a missing file beside a failing one", []string{missing, failingCapture}, exitFindings},
		{"--extract into a file", []string{"--fail-on", "never", "--extract", aFile, failingCapture}, exitOutput},
		{"--extract json into a file", []string{"--format", "json", "--fail-on", "never", "--extract", aFile, failingCapture}, exitOutput},
		{"--extract from standard input", []string{"--fail-on", "never", "--extract", dir, "-"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := runCLI(t, tt.args...)
			if code != tt.want {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.want, errOut)
			}
		})
	}
}

// TestExtractFromStandardInputIsExit3: a capture on standard input cannot
// be read twice, so the evidence asked for is not written: exit 3.
func TestExtractFromStandardInputIsExit3(t *testing.T) {
	data, err := os.ReadFile(failingCapture)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	code := run(t.Context(), []string{"--fail-on", "never", "--extract", t.TempDir(), "-"}, strings.NewReader(string(data)), &out, &errb)
	if code != exitOutput || !strings.Contains(errb.String(), "standard input") {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitOutput, errb.String())
	}
}

// TestTextReportWriteErrorIsExit3: the text report's write errors count,
// as JSON's and HTML's do (ftpdiag capture.pcap >/dev/full).
func TestTextReportWriteErrorIsExit3(t *testing.T) {
	for _, format := range []string{"text", "json", "html"} {
		var errb strings.Builder
		code := run(t.Context(), []string{"--format", format, healthyCapture}, strings.NewReader(""), failingWriter{}, &errb)
		if code != exitOutput {
			t.Errorf("--format %s to a failing writer: exit %d, want %d; stderr: %s", format, code, exitOutput, errb.String())
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

// TestEachExtractNamesDoNotCollide: with --each, a/cap.pcap and
// b/cap.pcap get evidence captures of their own; an existing file or link
// in the directory is never overwritten nor followed.
func TestEachExtractNamesDoNotCollide(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(failingCapture)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, sub := range []string{"a", "b"} {
		p := filepath.Join(dir, sub, "cap.pcap")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	out := filepath.Join(dir, "out")
	args := append([]string{"--each", "--fail-on", "never", "--extract", out}, files...)
	if _, errOut, code := runCLI(t, args...); code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	written, _ := filepath.Glob(filepath.Join(out, "*.pcapng"))
	if len(written) != 2 {
		t.Fatalf("wrote %v, want one capture per input", written)
	}

	// Again into the same directory: every name exists now, and one is a
	// link to a file outside that must stay untouched.
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(written[0]); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, written[0]); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runCLI(t, args...)
	if code != exitOutput {
		t.Errorf("extracting over existing files: exit %d, want %d; stderr:\n%s", code, exitOutput, errOut)
	}
	if got, _ := os.ReadFile(victim); string(got) != "keep" {
		t.Errorf("the link was followed: victim holds %q", got)
	}
}

// TestEachHTML: with --each, --html is a directory with one page per
// input, and --format html (several pages in one stream) is refused.
func TestEachHTML(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pages")
	if _, errOut, code := runCLI(t, "--each", "--fail-on", "never", "--html", dir, failingCapture, healthyCapture); code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	for _, f := range []string{failingCapture, healthyCapture} {
		page, err := os.ReadFile(filepath.Join(dir, filepath.Base(f)+".html"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(string(page), "<html") != 1 || !strings.Contains(string(page), filepath.Base(f)) {
			t.Errorf("%s: not one page about its input", f)
		}
	}
	if _, _, code := runCLI(t, "--each", "--format", "html", failingCapture, healthyCapture); code != exitUsage {
		t.Errorf("--each --format html: exit %d, want %d", code, exitUsage)
	}
}

// TestFileNameEscapedOnStderr: a file name holding ESC reaches standard
// error escaped, never as a raw control character.
func TestFileNameEscapedOnStderr(t *testing.T) {
	name := filepath.Join(t.TempDir(), "evil\x1b[2Jname.pcap")
	if err := os.WriteFile(name, []byte("not a capture at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runCLI(t, name)
	if code != exitUsage || strings.ContainsRune(errOut, '\x1b') || !strings.Contains(errOut, `evil\x1b[2Jname.pcap`) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestEachJSONLinesStatus: with --each, each JSON Lines document carries
// the status its input alone gives, with or without --html beside it.
func TestEachJSONLinesStatus(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pcap")
	for _, extra := range [][]string{nil, {"--html", t.TempDir()}} {
		args := append([]string{"--each", "--format", "json"}, extra...)
		args = append(args, missing, failingCapture, healthyCapture)
		out, errOut, code := runCLI(t, args...)
		if code != exitFindings {
			t.Fatalf("%v: exit %d; stderr:\n%s", extra, code, errOut)
		}
		var got []int
		dec := json.NewDecoder(strings.NewReader(out))
		for dec.More() {
			var doc struct{ Status *int }
			if err := dec.Decode(&doc); err != nil {
				t.Fatal(err)
			}
			if doc.Status == nil {
				t.Fatalf("%v: a document without status", extra)
			}
			got = append(got, *doc.Status)
		}
		if !slices.Equal(got, []int{exitUsage, exitFindings, exitOK}) {
			t.Errorf("%v: statuses %v, want [2 1 0]", extra, got)
		}
	}
}
