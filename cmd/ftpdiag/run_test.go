package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDamagedCaptureExitStatus: a capture cut short is damage the
// analysis reports once (a capture_damaged warning and one line on
// stderr); the second passes of --extract and --annotate read it as far
// as the analysis did and do not make it a write failure: with --fail-on
// never every run exits 0.
func TestDamagedCaptureExitStatus(t *testing.T) {
	data, err := os.ReadFile(failingCapture)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, data[:len(data)-30], 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		flags []string
	}{
		{"text", nil},
		{"text --extract", []string{"--extract", filepath.Join(dir, "ex-text")}},
		{"json --extract", []string{"--format", "json", "--extract", filepath.Join(dir, "ex-json")}},
		{"--annotate", []string{"--annotate", filepath.Join(dir, "a.pcapng")}},
		{"--extract --annotate", []string{"--extract", filepath.Join(dir, "ex-both"), "--annotate", filepath.Join(dir, "b.pcapng")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"--fail-on", "never"}, tt.flags...), cut)
			_, errOut, code := runCLI(t, args...)
			if code != exitOK {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitOK, errOut)
			}
			if n := strings.Count(errOut, "truncated packet data"); n != 1 {
				t.Errorf("the damage told %d times, want once; stderr:\n%s", n, errOut)
			}
		})
	}
}

// TestHTMLPageMadeAfterTheAnalysis: the --html page is made once the
// analysis is over: named after the input itself, the input is read
// before it is overwritten; a page that cannot be made is exit 3, with
// the report on stdout written all the same.
func TestHTMLPageMadeAfterTheAnalysis(t *testing.T) {
	data, err := os.ReadFile(failingCapture)
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "cap.pcap")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, "--fail-on", "never", "--html", in, in)
	if code != exitOK || !strings.Contains(out, "pasv_address_mismatch") {
		t.Fatalf("page over its own input: exit %d, report read %v; stderr:\n%s", code, strings.Contains(out, "pasv_address_mismatch"), errOut)
	}
	if page, _ := os.ReadFile(in); !strings.Contains(string(page), "<html") {
		t.Errorf("the page was not written over the input")
	}

	out, errOut, code = runCLI(t, "--fail-on", "never", "--html", filepath.Join(in, "r.html"), failingCapture)
	if code != exitOutput || !strings.Contains(errOut, "--html") || !strings.Contains(out, "Verdict") {
		t.Errorf("page under a file: exit %d (want %d), text report written %v; stderr:\n%s", code, exitOutput, strings.Contains(out, "Verdict"), errOut)
	}
}

// TestViewsProblemsPrinted: with --views, a file the comparison had to
// leave out is named on stderr (the views report does not show it).
func TestViewsProblemsPrinted(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pcap")
	_, errOut, code := runCLI(t, "-q", "--views", "--fail-on", "never", missing, failingCapture, healthyCapture)
	if code != exitOK || !strings.Contains(errOut, "ftpdiag: --views: ") || !strings.Contains(errOut, "missing.pcap") {
		t.Errorf("exit %d; stderr:\n%s", code, errOut)
	}
}

// runCLIWant runs the command in-process and fails the test unless it
// exits with want.
func runCLIWant(t testing.TB, want int, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, code := runCLI(t, args...)
	if code != want {
		t.Fatalf("ftpdiag %s: exit %d, want %d; stderr:\n%s", strings.Join(args, " "), code, want, stderr)
	}
	return stdout, stderr
}

// runReport runs the command in-process for its report: it fails the
// test when nothing could be read or the report could not be written
// (exit 2 or 3). Whether findings reach --fail-on (exit 1 or 0) is the
// caller's to check, if it matters.
func runReport(t testing.TB, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, code := runCLI(t, args...)
	if code != exitOK && code != exitFindings {
		t.Fatalf("ftpdiag %s: exit %d, want a report (0 or 1); stderr:\n%s", strings.Join(args, " "), code, stderr)
	}
	return stdout, stderr
}
