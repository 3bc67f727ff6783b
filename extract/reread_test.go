package extract

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"

	"ftpdiag/analyze"
	"ftpdiag/pcap"
)

// failingCapture has one session with an error finding.
const failingCapture = "../fixtures/captures/09-data-closed-fake-226-client.pcap"

// TestSnaplenCarried: each evidence capture's interface declares the
// snapshot length of the input its packets come from, not a fixed one.
func TestSnaplenCarried(t *testing.T) {
	data, err := os.ReadFile(failingCapture)
	if err != nil {
		t.Fatal(err)
	}
	for _, snaplen := range []uint32{65535, 262144, 9000} {
		in := bytes.Clone(data)
		binary.LittleEndian.PutUint32(in[16:], snaplen) // the pcap header's snaplen
		path := filepath.Join(t.TempDir(), "in.pcap")
		if err := os.WriteFile(path, in, 0o644); err != nil {
			t.Fatal(err)
		}
		out := evidenceOf(t, path)
		r, err := pcapgo.NewNgReader(bytes.NewReader(out), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.ReadPacketData(); err != nil { // the interface is read with the first packet
			t.Fatal(err)
		}
		ifc, err := r.Interface(0)
		if err != nil {
			t.Fatal(err)
		}
		if ifc.SnapLength != snaplen {
			t.Errorf("input snaplen %d: evidence capture declares %d", snaplen, ifc.SnapLength)
		}
	}
}

// TestSecondPassDamage: damage the analysis already met is not an error of
// the evidence captures (they hold what was read up to it); damage it did
// not meet, a file changed between the passes, is, and names the file;
// without Options.Read every damage is one.
func TestSecondPassDamage(t *testing.T) {
	data, err := os.ReadFile(failingCapture)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, data[:len(data)-30], 0o644); err != nil {
		t.Fatal(err)
	}
	whole := filepath.Join(dir, "whole.pcap")
	if err := os.WriteFile(whole, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cutRead := firstPass(t, cut)
	wholeRead := firstPass(t, whole)
	if err := os.WriteFile(whole, data[:len(data)-30], 0o644); err != nil { // changed after the analysis
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		read    []pcap.Info
		wantErr bool
	}{
		{"damaged on both passes", cut, cutRead, false},
		{"damaged on both passes, Read not given", cut, nil, true},
		{"damaged only on the second pass", whole, wholeRead, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := analyze.Run(context.Background(), analyze.Files(tt.path), analyze.Options{})
			targets := Failing(a.Findings, Targets(a.Sessions))
			if len(targets) == 0 {
				t.Fatal("no failing session to extract")
			}
			var out bytes.Buffer
			create := func(Target) (io.Writer, error) { return &out, nil }
			files, err := WriteTargets(context.Background(), analyze.Files(tt.path), targets, create, Options{Read: tt.read})
			var fe *pcap.FormatError
			if got := errors.As(err, &fe); got != tt.wantErr {
				t.Fatalf("error %v; want a damage error: %v", err, tt.wantErr)
			}
			if tt.wantErr && !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %v does not name %s", err, tt.path)
			}
			if len(files) != len(targets) || out.Len() == 0 {
				t.Errorf("wrote %+v, want every capture up to the damage", files)
			}
		})
	}
}

// firstPass returns what an analysis of path read of it.
func firstPass(t *testing.T, path string) []pcap.Info {
	t.Helper()
	a, _ := analyze.Run(context.Background(), analyze.Files(path), analyze.Options{})
	if len(a.Inputs) != 1 || a.Inputs[0].Packets == 0 {
		t.Fatalf("%s: read %+v", path, a.Inputs)
	}
	return a.Inputs
}

// evidenceOf analyses path and returns the evidence capture of its one
// failing session.
func evidenceOf(t *testing.T, path string) []byte {
	t.Helper()
	a, err := analyze.Run(context.Background(), analyze.Files(path), analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	targets := Failing(a.Findings, Targets(a.Sessions))
	if len(targets) != 1 {
		t.Fatalf("%d failing sessions, want 1", len(targets))
	}
	var out bytes.Buffer
	create := func(Target) (io.Writer, error) { return &out, nil }
	if _, err := WriteTargets(context.Background(), analyze.Files(path), targets, create, Options{}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
