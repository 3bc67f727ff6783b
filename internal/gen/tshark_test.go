package gen

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tshark returns tshark's path, or skips the test when it is missing
// (fails under CI=true, where it must be installed).
func tshark(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark not found, and CI=true requires it")
		}
		t.Skip("tshark not found; install it to check generated files against Wireshark")
	}
	return p
}

// writeFile generates cfg into a file in a temporary directory.
func writeFile(t *testing.T, cfg Config, name string) string {
	t.Helper()
	b, _ := generate(t, cfg)
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTsharkReads(t *testing.T) {
	bin := tshark(t)
	for _, tt := range []struct {
		name string
		cfg  Config
	}{
		{"x.pcap", Config{Seed: 1, Size: 4 << 20, Format: FormatPcap}},
		{"x.pcapng", Config{Seed: 1, Size: 4 << 20, Format: FormatPcapNG}},
		{"x.pcap.gz", Config{Seed: 2, Size: 2 << 20, Format: FormatPcap, Gzip: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.cfg, tt.name)
			out, err := exec.Command(bin, "-r", path, "-c", "1000").CombinedOutput()
			if err != nil {
				t.Fatalf("tshark -r %s -c 1000: %v\n%s", tt.name, err, tail(out))
			}
			// Wireshark's expert info flags malformed packets and bad
			// checksums; there must be none.
			out, err = exec.Command(bin, "-r", path, "-o", "ip.check_checksum:TRUE",
				"-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
				"-Y", "_ws.malformed || _ws.expert.severity == error || ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0",
				"-T", "fields", "-e", "frame.number").CombinedOutput()
			if err != nil {
				t.Fatalf("tshark expert check: %v\n%s", err, tail(out))
			}
			if bad := frames(out); len(bad) > 0 {
				t.Errorf("tshark flags %d frames as malformed or with bad checksums, first %v", len(bad), bad[:min(len(bad), 10)])
			}
		})
	}
}

// TestTsharkSeesFTP checks that Wireshark's FTP dissector finds every
// endpoint command in a small capture.
func TestTsharkSeesFTP(t *testing.T) {
	bin := tshark(t)
	path := writeFile(t, Config{Seed: 1, Size: 8 << 20, Format: FormatPcapNG}, "ftp.pcapng")
	out, err := exec.Command(bin, "-r", path, "-Y", "ftp", "-T", "fields", "-e", "ftp.request.command").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, tail(out))
	}
	seen := map[string]int{}
	for _, l := range frames(out) {
		seen[l]++
	}
	for _, cmd := range []string{"PASV", "EPSV", "PORT", "EPRT", "USER", "PASS", "LIST", "RETR", "STOR", "QUIT"} {
		if seen[cmd] == 0 {
			t.Errorf("tshark saw no %s command; saw %v", cmd, seen)
		}
	}
}

// frames returns the non-empty lines of tshark's output, less its
// warning about running as root.
func frames(out []byte) []string {
	var r []string
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "Running as user") {
			r = append(r, l)
		}
	}
	return r
}

// tail returns the end of a command's output for an error message.
func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
