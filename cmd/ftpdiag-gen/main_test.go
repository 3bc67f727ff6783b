package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ftpdiag/internal/gen"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string // in stderr
	}{
		{"help", []string{"--help"}, 0, "Usage: ftpdiag-gen"},
		{"no output", []string{"--size", "1MB"}, 2, "no output file"},
		{"bad size", []string{"--size", "lots", "-o", "-"}, 2, `size "lots"`},
		{"bad format", []string{"--format", "erf", "-o", "-"}, 2, `format "erf"`},
		{"bad stats", []string{"--stats", "xml", "-o", "-"}, 2, `--stats "xml"`},
		{"stray argument", []string{"-o", "-", "extra"}, 2, `unexpected argument "extra"`},
		{"too small", []string{"--size", "10", "-o", "-"}, 2, "size 10"},
		{"unwritable", []string{"--size", "1MB", "-o", filepath.Join(dir, "no", "such", "dir", "x.pcap")}, 1, "no such file"},
		{"file", []string{"--size", "1MB", "-o", filepath.Join(dir, "x.pcap")}, 0, "wrote "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("run(%q) = %d, want %d; stderr:\n%s", tt.args, code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("run(%q) stderr = %q, want it to contain %q", tt.args, stderr.String(), tt.wantErr)
			}
		})
	}
}

// TestRunStdout checks that -o - writes what gen.Write writes, and that
// --stats json describes it.
func TestRunStdout(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--seed", "4", "--size", "2MiB", "--format", "pcapng", "-o", "-", "--stats", "json"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var want bytes.Buffer
	st, err := gen.Write(&want, gen.Config{Seed: 4, Size: 2 << 20, Format: gen.FormatPcapNG})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stdout.Bytes(), want.Bytes()) {
		t.Errorf("stdout (%d bytes) differs from gen.Write (%d bytes)", stdout.Len(), want.Len())
	}
	var got struct {
		Packets int64 `json:"packets"`
		Bytes   int64 `json:"bytes"`
	}
	if err := json.Unmarshal(stderr.Bytes(), &got); err != nil {
		t.Fatalf("--stats json: %v\n%s", err, stderr.String())
	}
	if got.Packets != st.Packets || got.Bytes != st.Bytes {
		t.Errorf("--stats json says %d packets, %d bytes; want %d, %d", got.Packets, got.Bytes, st.Packets, st.Bytes)
	}
}

func TestRunFileDeterministic(t *testing.T) {
	dir := t.TempDir()
	var sums [2][]byte
	for i := range sums {
		name := filepath.Join(dir, "x.pcap")
		var stderr bytes.Buffer
		if code := run([]string{"--size", "1MB", "--gzip", "--stats", "none", "-o", name}, &bytes.Buffer{}, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sums[i] = b
	}
	if !bytes.Equal(sums[0], sums[1]) {
		t.Error("two runs with the same flags wrote different files")
	}
}
