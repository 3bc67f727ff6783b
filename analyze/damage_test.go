package analyze_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"ftpdiag/analyze"
	"ftpdiag/pcap"
)

// TestDamagedCaptureIsAFinding: a capture cut after a few packets, or an
// input missing beside one that reads, gives a capture_damaged warning
// naming the file, the record and the offset, instead of a clean report.
func TestDamagedCaptureIsAFinding(t *testing.T) {
	data, err := os.ReadFile("../fixtures/captures/01-passive-vsftpd-curl-client.pcap")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.pcap")
	// The pcap header, four whole records of the client's first packets,
	// then half a record header.
	if err := os.WriteFile(cut, data[:cutAfterRecords(t, data, 4)+8], 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files []string
		want  string
	}{
		{"cut after 4 packets", []string{cut}, "cut.pcap could not be read to its end: record 5 at offset"},
		{"missing beside a whole one", []string{filepath.Join(dir, "missing.pcap"), "../fixtures/captures/01-passive-vsftpd-curl-client.pcap"}, "missing.pcap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := analyze.Run(context.Background(), analyze.Files(tt.files...), analyze.Options{})
			if err == nil {
				t.Fatal("no error for a damaged input")
			}
			var found []analyze.Finding
			for _, f := range a.Findings {
				if f.Kind == analyze.KindCaptureDamaged {
					found = append(found, f)
				}
			}
			if len(found) != 1 || found[0].Severity != analyze.Warning || !strings.Contains(found[0].Summary, tt.want) {
				t.Fatalf("findings %+v, want one capture_damaged warning containing %q", found, tt.want)
			}
			if want := "F" + strconv.Itoa(len(a.Findings)); found[0].ID != want {
				t.Errorf("ID %s, want %s (numbered after the others)", found[0].ID, want)
			}
		})
	}
}

// cutAfterRecords returns the length of a little-endian pcap file's header
// and first n records.
func cutAfterRecords(t *testing.T, data []byte, n int) int {
	t.Helper()
	off := 24
	for range n {
		if off+16 > len(data) {
			t.Fatal("capture too short")
		}
		caplen := int(data[off+8]) | int(data[off+9])<<8 | int(data[off+10])<<16 | int(data[off+11])<<24
		off += 16 + caplen
	}
	return off
}

// TestDamagedBefore: only a format error in an input the first pass did
// not read to its end is damage it already found.
func TestDamagedBefore(t *testing.T) {
	read := []pcap.Info{{Name: "cut.pcap"}, {Name: "whole.pcap", Complete: true}}
	damage := func(file string) error {
		return fmt.Errorf("second pass: %w", &pcap.FormatError{File: file, Record: 9, Offset: 900, Err: io.ErrUnexpectedEOF})
	}
	tests := []struct {
		name string
		err  error
		read []pcap.Info
		want bool
	}{
		{"damage the first pass met", damage("cut.pcap"), read, true},
		{"damage in an input read whole", damage("whole.pcap"), read, false},
		{"damage in an input not among those read", damage("other.pcap"), read, false},
		{"no first pass given", damage("cut.pcap"), nil, false},
		{"not a format error", errors.New("cut.pcap: permission denied"), read, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := analyze.DamagedBefore(tt.err, tt.read); got != tt.want {
				t.Errorf("DamagedBefore(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
