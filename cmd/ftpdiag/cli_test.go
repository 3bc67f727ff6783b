package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ftpdiag/internal/simtrace"
)

// writeTrace writes a simtrace capture into dir and returns its path.
func writeTrace(t *testing.T, dir, name string, tr *simtrace.Trace) string {
	t.Helper()
	var b bytes.Buffer
	if err := tr.WritePcap(&b); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, b.Bytes())
}

// writeFile writes data to name in dir and returns its path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// gzipped compresses data.
func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// okSession is a passive LIST that works; failedSession one whose data
// SYNs go unanswered.
func okSession(cliPort string) *simtrace.Trace {
	tr := simtrace.New()
	c := tr.Login("198.51.100.10:"+cliPort, "203.0.113.5:21")
	c.Say(simtrace.Client, "PASV\r\n")
	c.Say(simtrace.Server, "227 Entering Passive Mode (203,0,113,5,195,80).\r\n")
	c.Say(simtrace.Client, "LIST\r\n")
	d := tr.Conv("198.51.100.10:41000", "203.0.113.5:50000").Open()
	c.Say(simtrace.Server, "150 Here comes the directory listing.\r\n")
	d.Say(simtrace.Server, "pub\r\n")
	d.Close(simtrace.Server)
	c.Say(simtrace.Server, "226 Directory send OK.\r\n")
	return tr
}

func failedSession() *simtrace.Trace {
	tr := simtrace.New()
	c := tr.Login("198.51.100.10:40000", "203.0.113.5:21")
	c.Say(simtrace.Client, "PASV\r\n")
	c.Say(simtrace.Server, "227 Entering Passive Mode (203,0,113,5,195,80).\r\n")
	c.Say(simtrace.Client, "LIST\r\n")
	d := tr.Conv("198.51.100.10:41000", "203.0.113.5:50000")
	for i := 0; i < 3; i++ {
		d.Packet(simtrace.Client, "S", "")
		d.Seq[simtrace.Client]--
		tr.Wait(time.Duration(1<<i) * time.Second)
	}
	c.Say(simtrace.Server, "425 Failed to establish connection.\r\n")
	return tr
}

// TestCLI runs the command as a user would, one scenario per row.
func TestCLI(t *testing.T) {
	dir := t.TempDir()
	ok := writeTrace(t, dir, "ok.pcap", okSession("40000"))
	bad := writeTrace(t, dir, "bad.pcap", failedSession())
	// The same session split in two files, as a ring buffer would.
	whole := okSession("40000")
	half := len(whole.Packets) / 2
	first, second := simtrace.New(), simtrace.New()
	first.Packets, second.Packets = whole.Packets[:half], whole.Packets[half:]
	part1 := writeTrace(t, dir, "ring1.pcap", first)
	part2 := writeTrace(t, dir, "ring2.pcap", second)
	okBytes, err := os.ReadFile(ok)
	if err != nil {
		t.Fatal(err)
	}
	cut := writeFile(t, dir, "cut.pcap", okBytes[:len(okBytes)-10])
	text := writeFile(t, dir, "notes.txt", []byte("<html>not a capture</html>"))
	empty := writeFile(t, dir, "empty.pcap", nil)
	gzPath := writeFile(t, dir, "ok.pcap.gz", gzipped(t, okBytes))

	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    []string // substrings
		stderr    []string
		jsonLines int // with --each: documents expected
		notStdout []string
	}{
		{"clean capture exits 0", []string{ok}, exitOK, []string{"Transfers (1)", "completed", "nothing wrong found"}, nil, 0, nil},
		{"failure exits 1", []string{bad}, exitFindings, []string{"data_syn_unanswered"}, nil, 0, nil},
		{"--fail-on never", []string{"--fail-on", "never", bad}, exitOK, nil, nil, 0, nil},
		{"info findings do not fail by default", []string{"--fail-on", "warning", ok}, exitOK, nil, nil, 0, nil},
		{"gzip by content", []string{gzPath}, exitOK, []string{"pcap+gzip"}, nil, 0, nil},
		{"two files of a ring buffer make one session", []string{"--format", "json", part1, part2}, exitOK, []string{`"outcome": "completed"`}, nil, 0, nil},
		{"--each gives one JSON document per line", []string{"--each", "--format", "json", "--fail-on", "never", ok, bad}, exitOK, nil, nil, 2, nil},
		{"not a capture", []string{text}, exitUsage, nil, []string{"notes.txt", "not a capture file", `"<html>not a capt"`}, 0, nil},
		{"empty file", []string{empty}, exitUsage, nil, []string{"empty.pcap", "empty"}, 0, nil},
		{"missing file", []string{filepath.Join(dir, "nope.pcap")}, exitUsage, nil, []string{"nope.pcap"}, 0, nil},
		{"cut capture: partial report, error names record and offset", []string{"--format", "json", cut}, exitOK, []string{`"complete": false`}, []string{"cut.pcap: record", "offset", "truncated"}, 0, nil},
		{"one bad file among good ones still reports", []string{"--format", "json", text, ok}, exitOK, []string{`"file": "` + ok}, []string{"not a capture file"}, 0, nil},
		{"no file", nil, exitUsage, nil, []string{"no capture file given"}, 0, nil},
		{"bad flag value", []string{"--format", "xml", ok}, exitUsage, nil, []string{"--format"}, 0, nil},
		{"passwords never shown", []string{"--format", "json", ok}, exitOK, nil, nil, 0, []string{"guest"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, errOut)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tt.notStdout {
				if strings.Contains(out, s) {
					t.Errorf("stdout contains %q", s)
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr lacks %q: %s", s, errOut)
				}
			}
			if tt.args != nil && strings.Count(strings.TrimSpace(errOut), "\n") > 3 {
				t.Errorf("stderr is not a few one-line errors: %s", errOut)
			}
			if tt.jsonLines > 0 {
				lines := strings.Split(strings.TrimSpace(out), "\n")
				if len(lines) != tt.jsonLines {
					t.Fatalf("%d lines, want %d JSON documents", len(lines), tt.jsonLines)
				}
				for _, l := range lines {
					var doc map[string]any
					if err := json.Unmarshal([]byte(l), &doc); err != nil || doc["schema"] != "ftpdiag/v1" {
						t.Errorf("line is not an ftpdiag/v1 document: %v", err)
					}
				}
			}
		})
	}
}

// TestStdin reads a capture from standard input.
func TestStdin(t *testing.T) {
	var b bytes.Buffer
	if err := okSession("40000").WritePcap(&b); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"--format", "json", "-"}, &b, &out, &errb)
	if code != exitOK || !strings.Contains(out.String(), `"file": "-"`) {
		t.Errorf("exit %d, stderr %s", code, errb.String())
	}
}

// TestExtract writes the failed session to a capture of its own, which
// ftpdiag (and tshark, in TestExtractReadByTshark) reads back; with the
// JSON report, whose sessions are let go as the capture is read, too.
func TestExtract(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			tr := failedSession()
			// Unrelated traffic that must not be extracted.
			other := tr.Conv("192.0.2.50:50000", "192.0.2.80:443").Open()
			other.Say(simtrace.Client, "hello")
			bad := writeTrace(t, dir, "bad.pcap", tr)
			out := filepath.Join(dir, "out")
			_, errOut, code := runCLI(t, "--format", format, "--extract", out, bad)
			if code != exitFindings {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			files, _ := filepath.Glob(filepath.Join(out, "*.pcapng"))
			if len(files) != 1 || !strings.Contains(files[0], "session-1_198.51.100.10-40000_203.0.113.5-21") {
				t.Fatalf("extracted %v", files)
			}
			report, _, code := runCLI(t, "--format", "json", files[0])
			if code != exitFindings || !strings.Contains(report, "data_syn_unanswered") || strings.Contains(report, "192.0.2.80") {
				t.Errorf("extracted capture analyses differently (exit %d):\n%s", code, report)
			}
			if !strings.Contains(errOut, "wrote") {
				t.Errorf("no note on stderr: %s", errOut)
			}
			if tshark, err := exec.LookPath("tshark"); err == nil {
				got, err := exec.Command(tshark, "-r", files[0], "-T", "fields", "-e", "frame.number").Output()
				if err != nil || len(strings.Fields(string(got))) != len(tr.Packets)-5 {
					t.Errorf("tshark reads the extracted capture: %v, %d frames", err, len(strings.Fields(string(got))))
				}
			}
		})
	}
}

// TestConnectionTableBound floods the table beyond --max-connections: the
// FTP session survives, the report says how many connections it evicted.
func TestConnectionTableBound(t *testing.T) {
	tr := okSession("40000")
	for i := range 500 {
		c := tr.Conv(fmt.Sprintf("192.0.2.%d:%d", 1+i%200, 2000+i), "203.0.113.80:443")
		c.Packet(simtrace.Client, "S", "")
	}
	p := writeTrace(t, t.TempDir(), "flood.pcap", tr)
	out, _, code := runCLI(t, "--max-connections", "100", p)
	if code != exitOK || !strings.Contains(out, "connections evicted (table full)") || !strings.Contains(out, "completed") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// brokenWriter fails every write, as a closed pipe or a full disk does.
type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// TestReportNotWritten: when the report cannot be written, the exit status
// says so (3), whatever the findings, and stderr says why.
func TestReportNotWritten(t *testing.T) {
	dir := t.TempDir()
	p := writeTrace(t, dir, "ok.pcap", okSession("40000"))
	tests := []struct {
		name string
		args []string
		out  io.Writer
	}{
		{"json to a broken pipe", []string{"--format", "json", p}, brokenWriter{}},
		{"html to a broken pipe", []string{"--format", "html", p}, brokenWriter{}},
		// --html makes missing directories, but not under a file.
		{"--html under a file", []string{"--html", filepath.Join(p, "r.html"), p}, io.Discard},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errb bytes.Buffer
			code := run(t.Context(), tt.args, strings.NewReader(""), tt.out, &errb)
			if code != exitOutput || !strings.Contains(errb.String(), "ftpdiag:") {
				t.Errorf("exit %d, stderr %q", code, errb.String())
			}
		})
	}
}
