package correlate

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ftpdiag/analyze"
)

// TestMayShare checks the cheap look on captures of the same traffic
// taken at two (or three) places at once, on unrelated captures, and on
// the pieces of one capture cut in two as a ring buffer cuts it.
func TestMayShare(t *testing.T) {
	first, second := splitPcap(t, captures+"11-mtu-blackhole-client.pcap")
	tests := []struct {
		name  string
		files []string
		want  bool
	}{
		{"dnat pair", []string{"02-nat-pasv-curl-follow-client.pcap", "02-nat-pasv-curl-follow-server.pcap"}, true},
		{"helper pair", []string{"02-nat-pasv-helper-curl-follow-client.pcap", "02-nat-pasv-helper-curl-follow-server.pcap"}, true},
		{"dropped pair", []string{"03-pasv-dropped-curl-client.pcap", "03-pasv-dropped-curl-server.pcap"}, true},
		{"mtu pair", []string{"11-mtu-blackhole-client.pcap", "11-mtu-blackhole-server.pcap"}, true},
		{"masquerade pair", []string{"05-masq-helper-port21-client.pcap", "05-masq-helper-port21-server.pcap"}, true},
		{"three places", []string{"16-routed-dnat-pasv-address-curl-client.pcap", "16-routed-dnat-pasv-address-curl-router.pcap", "16-routed-dnat-pasv-address-curl-server.pcap"}, true},
		{"server side first", []string{"13-timewait-reuse-ts-on-server.pcap", "13-timewait-reuse-ts-on-client.pcap"}, true},
		{"unrelated", []string{"01-passive-vsftpd-curl-client.pcap", "03-pasv-dropped-curl-server.pcap"}, false},
		{"unrelated, same scenario run twice", []string{"13-timewait-reuse-ts-on-client.pcap", "13-timewait-reuse-ts-off-client.pcap"}, false},
		{"one file", []string{"01-passive-vsftpd-curl-client.pcap"}, false},
		{"ring-buffer pieces", []string{first, second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var names []string
			for _, f := range tt.files {
				if !filepath.IsAbs(f) {
					f = captures + f
				}
				names = append(names, f)
			}
			got, err := MayShare(context.Background(), analyze.Files(names...))
			if err != nil || got != tt.want {
				t.Errorf("MayShare = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// TestMayShareErrors: an input that cannot be opened is named in the
// error; a stream is looked at as a file is.
func TestMayShareErrors(t *testing.T) {
	ok := captures + "01-passive-vsftpd-curl-client.pcap"
	missing := filepath.Join(t.TempDir(), "missing.pcap")
	if _, err := MayShare(context.Background(), analyze.Files(ok, missing)); err == nil || !strings.Contains(err.Error(), "missing.pcap") {
		t.Errorf("missing file: err = %v", err)
	}
	f, err := os.Open(captures + "02-nat-pasv-curl-follow-client.pcap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := []analyze.Input{{Name: "stdin", Reader: f}, {Name: captures + "02-nat-pasv-curl-follow-server.pcap"}}
	if share, err := MayShare(context.Background(), in); !share || err != nil {
		t.Errorf("a stream and its other view: %v, %v; want true", share, err)
	}
	junk := filepath.Join(t.TempDir(), "junk.pcap")
	if err := os.WriteFile(junk, []byte("not a capture at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := MayShare(context.Background(), analyze.Files(ok, junk)); err == nil || !strings.Contains(err.Error(), "junk.pcap") {
		t.Errorf("not a capture: err = %v", err)
	}
}

// splitPcap cuts a little-endian microsecond pcap file at its middle
// record into two files, as a ring buffer would, and returns their names.
func splitPcap(t *testing.T, name string) (string, string) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatalf("%s: not a little-endian microsecond pcap", name)
	}
	var offsets []int
	for off := 24; off+16 <= len(b); off += 16 + int(binary.LittleEndian.Uint32(b[off+8:])) {
		offsets = append(offsets, off)
	}
	mid := offsets[len(offsets)/2]
	dir := t.TempDir()
	a, z := filepath.Join(dir, "ring_00001.pcap"), filepath.Join(dir, "ring_00002.pcap")
	if err := os.WriteFile(a, b[:mid], 0o644); err != nil {
		t.Fatal(err)
	}
	second := append(append([]byte{}, b[:24]...), b[mid:]...)
	if err := os.WriteFile(z, second, 0o644); err != nil {
		t.Fatal(err)
	}
	return a, z
}
