package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keyLogSecrets returns the secrets of an NSS key log file, each as it is
// written (hex), in upper case, and as bytes.
func keyLogSecrets(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		raw, err := hex.DecodeString(fields[2])
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, []byte(fields[2]), []byte(strings.ToUpper(fields[2])), raw)
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no secret", path)
	}
	return out
}

// TestKeyLogSecretsNeverWritten: with --keylog (or secrets embedded in
// the capture), no secret appears in anything ftpdiag writes: the text,
// JSON and HTML reports, standard error, the --annotate capture and the
// --extract captures. The decryption itself shows in the reports.
func TestKeyLogSecretsNeverWritten(t *testing.T) {
	tests := []struct {
		name, capture, keys string
		flags               []string // the key log flag, if any
	}{
		{"key log file", "18-ftps-pasv-dropped-curl-client.pcap", "18-ftps-pasv-dropped-curl-client.keys", []string{"--keylog", filepath.Join(fixtureDir, "18-ftps-pasv-dropped-curl-client.keys")}},
		{"embedded", "18-ftps-pasv-vsftpd-curl-client-dsb.pcapng", "18-ftps-pasv-vsftpd-curl-client.keys", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secrets := keyLogSecrets(t, filepath.Join(fixtureDir, tt.keys))
			dir := t.TempDir()
			capture := filepath.Join(fixtureDir, tt.capture)
			var written []string // what stdout and stderr showed
			for _, format := range [][]string{
				{"--format", "text", "--explain", "--all"},
				{"--format", "json"},
				{"--format", "html"},
				{"--format", "text", "--html", filepath.Join(dir, "page.html"), "--annotate", filepath.Join(dir, "annotated.pcapng"), "--annotate-lesson", "--extract", filepath.Join(dir, "evidence")},
			} {
				args := append(append(append([]string{"--fail-on", "never"}, tt.flags...), format...), capture)
				stdout, stderr := runCLIWant(t, exitOK, args...)
				written = append(written, stdout, stderr)
				if format[1] == "json" && !strings.Contains(stdout, `"decrypted": true`) {
					t.Errorf("JSON report: the session is not decrypted:\n%s", stdout)
				}
			}
			files := 0
			err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				files++
				checkNoSecret(t, path, data, secrets)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if files < 2 {
				t.Errorf("%d files written, want the HTML page and the annotated capture at least", files)
			}
			for i, w := range written {
				checkNoSecret(t, "output "+string(rune('1'+i)), []byte(w), secrets)
			}
		})
	}
}

// checkNoSecret fails the test when data holds one of secrets.
func checkNoSecret(t *testing.T, what string, data []byte, secrets [][]byte) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(data, s) {
			t.Errorf("%s holds a secret of the key log", what)
			return
		}
	}
}

// TestKeyLogFlagErrors: a key log that cannot be read is bad usage (exit
// 2) with one line on standard error that names the file and quotes none
// of it.
func TestKeyLogFlagErrors(t *testing.T) {
	dir := t.TempDir()
	secret := strings.Repeat("5e", 48)
	bad := filepath.Join(dir, "bad.keys")
	if err := os.WriteFile(bad, []byte("CLIENT_RANDOM "+strings.Repeat("01", 31)+" "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	capture := filepath.Join(fixtureDir, "18-ftps-pasv-dropped-curl-client.pcap")
	for _, keys := range []string{bad, filepath.Join(dir, "missing.keys")} {
		_, stderr := runCLIWant(t, exitUsage, "--keylog", keys, capture)
		if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "--keylog: key log") || !strings.Contains(stderr, filepath.Base(keys)) || strings.Contains(stderr, secret) {
			t.Errorf("--keylog %s: stderr %q, want one line naming the file, no secret", keys, stderr)
		}
	}
}
