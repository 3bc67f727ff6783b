package analyze_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ftpdiag/analyze"
	"ftpdiag/pcap"
)

// linkTypeUser0 is LINKTYPE_USER0, a link type no decoder understands.
const linkTypeUser0 layers.LinkType = 147

const (
	wholeCapture = "../fixtures/captures/01-passive-vsftpd-curl-client.pcap"
	otherCapture = "../fixtures/captures/02-nat-pasv-curl-follow-client.pcap"
)

// TestRunInterrupted: when ctx is done while an input is still read, Run
// returns the analysis of what was read, with ctx's error wrapped, and no
// finding calls the interruption damage.
func TestRunInterrupted(t *testing.T) {
	data, err := os.ReadFile(wholeCapture)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() {
		// The whole capture, then the stream stays open.
		if _, err := pw.Write(data); err != nil {
			t.Error(err)
		}
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	a, err := analyze.Run(ctx, []analyze.Input{{Name: "live", Reader: pr}}, analyze.Options{})
	if !errors.Is(err, context.Canceled) || errors.Is(err, analyze.ErrNothingRead) {
		t.Fatalf("error %v, want one wrapping context.Canceled and not ErrNothingRead", err)
	}
	if a == nil || a.Stats.Packets == 0 || len(a.Sessions) == 0 {
		t.Fatalf("analysis %+v, want the packets read before the interruption", a)
	}
	if len(a.Inputs) != 1 || a.Inputs[0].Name != "live" || a.Inputs[0].Complete {
		t.Errorf("inputs %+v, want the one stream, not read to its end", a.Inputs)
	}
	for _, f := range a.Findings {
		if f.Kind == analyze.KindCaptureDamaged {
			t.Errorf("%s: an interruption reported as damage: %s", f.ID, f.Summary)
		}
	}
}

// TestRunNothingRead: the error wraps ErrNothingRead exactly when no input
// could be read: none opened, or none held packets the decoder
// understands. An empty but whole capture counts as read.
func TestRunNothingRead(t *testing.T) {
	dir := t.TempDir()
	notCapture := writeFile(t, dir, "notes.txt", []byte("not a capture at all"))
	empty := writeFile(t, dir, "empty.pcap", pcapFile(t, layers.LinkTypeEthernet, nil))
	unknown := writeFile(t, dir, "user0.pcap", pcapFile(t, linkTypeUser0, []byte{1, 2, 3, 4}))
	missing := filepath.Join(dir, "missing.pcap")
	tests := []struct {
		name    string
		files   []string
		nothing bool
	}{
		{"a missing file", []string{missing}, true},
		{"not a capture", []string{notCapture}, true},
		{"only an unsupported link type", []string{unknown}, true},
		{"a missing file beside a whole one", []string{missing, wholeCapture}, false},
		{"an empty but whole capture", []string{empty}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := analyze.Run(context.Background(), analyze.Files(tt.files...), analyze.Options{})
			if got := errors.Is(err, analyze.ErrNothingRead); got != tt.nothing {
				t.Errorf("error %v wraps ErrNothingRead: %v, want %v", err, got, tt.nothing)
			}
			if a == nil || len(a.Inputs) != len(tt.files) {
				t.Fatalf("analysis %+v, want one Info per input", a)
			}
		})
	}
}

// TestRunUnsupportedLinkType: packets of a link type the decoder does not
// understand are counted, and the input and the error say they were not
// analysed.
func TestRunUnsupportedLinkType(t *testing.T) {
	unknown := writeFile(t, t.TempDir(), "user0.pcap", pcapFile(t, linkTypeUser0, []byte{1, 2, 3, 4}))
	a, err := analyze.Run(context.Background(), analyze.Files(unknown, wholeCapture), analyze.Options{})
	const want = "unsupported link type 147"
	if err == nil || !strings.Contains(err.Error(), unknown+": "+want) {
		t.Fatalf("error %v, want one naming the file and %q", err, want)
	}
	in := a.Inputs[0]
	if in.Packets != 1 || !in.Complete || !slices.ContainsFunc(in.Warnings, func(w string) bool { return strings.HasPrefix(w, want) }) {
		t.Errorf("input %+v, want 1 packet read whole, with a warning %q", in, want)
	}
	if len(a.Inputs[1].Warnings) != 0 || len(a.Sessions) == 0 {
		t.Errorf("the other input: %+v, %d sessions; want it analysed without warning", a.Inputs[1], len(a.Sessions))
	}
}

// TestRunInputsInOrderGiven: Analysis.Inputs follows the order of the
// inputs, not the merge's: a file that did not open keeps its place, each
// other file its own packet count.
func TestRunInputsInOrderGiven(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pcap")
	files := []string{otherCapture, missing, wholeCapture}
	a, err := analyze.Run(context.Background(), analyze.Files(files...), analyze.Options{})
	if err == nil || errors.Is(err, analyze.ErrNothingRead) {
		t.Fatalf("error %v, want one about the missing file only", err)
	}
	var names []string
	for _, in := range a.Inputs {
		names = append(names, in.Name)
	}
	if !slices.Equal(names, files) {
		t.Fatalf("inputs %q, want %q", names, files)
	}
	if in := a.Inputs[1]; in.Format != pcap.FormatUnknown || in.Complete || len(in.Warnings) != 1 {
		t.Errorf("the missing file: %+v", in)
	}
	for _, i := range []int{0, 2} {
		want := packetsIn(t, files[i])
		if in := a.Inputs[i]; in.Packets != want || !in.Complete {
			t.Errorf("%s: %d packets, complete %v; want %d, complete", files[i], in.Packets, in.Complete, want)
		}
	}
	if want := a.Inputs[0].Packets + a.Inputs[2].Packets; a.Stats.Packets != want {
		t.Errorf("%d packets analysed, want %d", a.Stats.Packets, want)
	}
}

// packetsIn counts the packets of a capture, read on its own.
func packetsIn(t *testing.T, path string) int {
	t.Helper()
	a, err := analyze.Run(context.Background(), analyze.Files(path), analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return a.Inputs[0].Packets
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// pcapFile returns a pcap file of link type lt holding one packet of
// data, or none when data is nil.
func pcapFile(t *testing.T, lt layers.LinkType, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	if data != nil {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000, 0), CaptureLength: len(data), Length: len(data)}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}
