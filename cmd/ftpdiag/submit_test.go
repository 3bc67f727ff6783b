package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ftpdiag/service"
	"ftpdiag/service/api"
	"ftpdiag/service/worker"
)

// startTestService runs a triage service in this process on a loopback
// port until the test ends; with tokens, they are required.
func startTestService(t *testing.T, tokens string) string {
	t.Helper()
	cfg := service.Config{Listen: "127.0.0.1:0", Dir: t.TempDir(), Worker: worker.Config{Workers: 2, Logf: t.Logf}}
	if tokens != "" {
		tok, err := api.ParseTokens(strings.NewReader(tokens))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Tokens = tok
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := service.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return strings.TrimSuffix(s.URL(), "/")
}

// runCLI runs the command in-process and returns its status and output.
func runInProcess(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func submitFixtures(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../fixtures/captures/*.pcap*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixture captures: %v", err)
	}
	return files
}

// TestSubmitMatchesLocalRun checks that submit prints what a local run
// prints, with the same exit status, in every format: every fixture
// through --each --format json, and a few in the other formats.
func TestSubmitMatchesLocalRun(t *testing.T) {
	url := startTestService(t, "")
	all := submitFixtures(t)
	nat := "../../fixtures/captures/02-nat-pasv-curl-follow-client.pcap"
	healthy := "../../fixtures/captures/01-passive-vsftpd-curl-client.pcap"
	cases := []struct {
		name string
		args []string
	}{
		{"every fixture, JSON Lines", append([]string{"--each", "--format", "json"}, all...)},
		{"merged JSON", []string{"--format", "json", nat, "../../fixtures/captures/02-nat-pasv-curl-follow-server.pcap"}},
		{"text", []string{nat}},
		{"text explained, two files", []string{"--explain", nat, healthy}},
		{"text each", []string{"--each", nat, healthy}},
		{"html", []string{"--format", "html", nat}},
		{"fail-on never", []string{"--fail-on", "never", "--format", "json", nat}},
		{"healthy", []string{"--fail-on", "warning", healthy}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantCode, wantOut, _ := runInProcess(t, tc.args...)
			code, out, errOut := runInProcess(t, append([]string{"submit", "--server", url, "-q"}, tc.args...)...)
			if code != wantCode {
				t.Errorf("submit exit %d, local run %d; stderr:\n%s", code, wantCode, errOut)
			}
			if out != wantOut {
				t.Errorf("submit printed %d bytes, the local run %d: they differ", len(out), len(wantOut))
			}
		})
	}
}

func TestSubmitFailures(t *testing.T) {
	url := startTestService(t, "acme acme-token-0123456789\n")
	dir := t.TempDir()
	good := filepath.Join(dir, "token")
	bad := filepath.Join(dir, "bad-token")
	for path, token := range map[string]string{good: "acme-token-0123456789\n", bad: "nope-token-0123456789\n"} {
		if err := os.WriteFile(path, []byte(token), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	nat := "../../fixtures/captures/02-nat-pasv-curl-follow-client.pcap"
	tooMany := []string{"submit", "--server", url, "--token-file", good}
	for range 65 {
		tooMany = append(tooMany, nat)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"not a capture", []string{"submit", "--server", url, "--token-file", good, "../../README.md"}, exitUsage, "ftpdiag: ../../README.md: not a capture file (starts with"},
		{"wrong token", []string{"submit", "--server", url, "--token-file", bad, nat}, exitUsage, "401 Unauthorized"},
		{"no token", []string{"submit", "--server", url, nat}, exitUsage, "401 Unauthorized"},
		{"missing file", []string{"submit", "--server", url, "--token-file", good, "nonexistent.pcap"}, exitUsage, "nonexistent.pcap"},
		{"no server", []string{"submit", nat}, exitUsage, "--server URL is required"},
		{"bad server", []string{"submit", "--server", "ftp://x", nat}, exitUsage, "want http://HOST:PORT"},
		{"bad format", []string{"submit", "--server", url, "--format", "xml", nat}, exitUsage, `--format "xml"`},
		{"no file", []string{"submit", "--server", url}, exitUsage, "no capture file given"},
		{"each html", []string{"submit", "--server", url, "--each", "--format", "html", nat}, exitUsage, "--each --format html"},
		{"65 files merged", tooMany, exitUsage, "65 files: the service merges at most 64 files into one analysis; give --each"},
		{"server gone", []string{"submit", "--server", "http://127.0.0.1:1", nat}, exitUsage, "uploading to"},
		{"good token", []string{"submit", "--server", url, "--token-file", good, "-q", "--tag", "ci", nat}, exitFindings, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("FTPDIAG_TOKEN", "")
			t.Setenv("FTPDIAG_SERVER", "")
			code, _, stderr := runInProcess(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.stderr)
			}
		})
	}
}

func TestServeFlags(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"serve", "--listen", "0.0.0.0:0"}, "give --tokens FILE"},
		{[]string{"serve", "--workers", "0"}, "--workers 0"},
		{[]string{"serve", "--max-upload", "lots"}, `"lots": want a size`},
		{[]string{"serve", "--tls-cert", "x.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"serve", "--tokens", "/nonexistent/tokens"}, "--tokens"},
		{[]string{"serve", "extra"}, "serve takes no arguments"},
	} {
		code, _, stderr := runInProcess(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.stderr)
		}
	}
	if code, _, stderr := runInProcess(t, "serve", "--help"); code != exitOK || !strings.Contains(stderr, "--max-capture-bytes") || strings.Contains(stderr, "debug-hold") {
		t.Errorf("serve --help: exit %d, %q", code, stderr)
	}
}

// TestServeRuns starts `ftpdiag serve` through run, uploads a capture
// with submit, and stops it by cancelling the context (Ctrl-C).
func TestServeRuns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &syncBuffer{}
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--workers", "1"}, nil, stdout, &stderr)
	}()
	var url string
	for deadline := time.Now().Add(30 * time.Second); url == ""; {
		if time.Now().After(deadline) {
			t.Fatalf("no address printed after 30 s: %q", stdout.String())
		}
		time.Sleep(10 * time.Millisecond)
		if _, rest, ok := strings.Cut(stdout.String(), "ftpdiag serve: "); ok {
			if u, _, ok := strings.Cut(rest, "/ "); ok {
				url = u
			}
		}
	}
	code, out, errOut := runInProcess(t, "submit", "--server", url, "--format", "json", "../../fixtures/captures/03-pasv-dropped-curl-client.pcap")
	if code != exitFindings || !strings.Contains(out, `"data_syn_unanswered"`) {
		t.Errorf("submit to serve: exit %d, stderr %q", code, errOut)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("serve exit %d after Ctrl-C; stderr %q", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve still running 30 s after Ctrl-C")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"4GiB": 4 << 30, "512MiB": 512 << 20, "100MB": 100e6, "1000": 1000, "1.5k": 1536, "2 G": 2 << 30, "7B": 7} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "-1", "lots", "1e30GiB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
	if got := formatSize(4 << 30); got != "4GiB" {
		t.Errorf("formatSize(4 GiB) = %q", got)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
