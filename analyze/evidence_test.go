package analyze_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ftpdiag/analyze"
)

// TestRefsMatchEvidenceFrames: for every finding of every fixture (and
// corpus capture, and a capture cut short), the frames its Refs cite are
// the frames its Evidence map shows, so that the display filter, the
// ladder and the annotated capture point where the report says.
func TestRefsMatchEvidenceFrames(t *testing.T) {
	files := append(captureFiles(t), cutCapture(t))
	kinds := map[string]int{}
	for _, file := range files {
		a, _ := analyze.Run(context.Background(), analyze.Files(file), analyze.Options{})
		for _, f := range a.Findings {
			kinds[f.Kind]++
			shown, cited := evidenceFrames(f), refFrames(f.Refs)
			if !slices.Equal(shown, cited) {
				t.Errorf("%s: %s %s: evidence shows frames %v, Refs cite %v", file, f.ID, f.Kind, shown, cited)
			}
		}
	}
	for _, k := range []string{analyze.KindCaptureDamaged, analyze.KindPassivePortExhaustion, analyze.KindDataSYNUnanswered} {
		if kinds[k] == 0 {
			t.Errorf("no %s finding among the captures: the test does not cover it", k)
		}
	}
}

// cutCapture writes a fixture cut in the middle of its tenth record.
func cutCapture(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../fixtures/captures/01-passive-vsftpd-curl-client.pcap")
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(cut, data[:cutAfterRecords(t, data, 9)+20], 0o644); err != nil {
		t.Fatal(err)
	}
	return cut
}

// evidenceFrames collects, sorted and once each, the frames a finding's
// Evidence shows: the values of keys named "frame", "..._frame" and
// "..._frames" at any depth, and, for damage, the frame before the record
// that could not be read (the last one read).
func evidenceFrames(f analyze.Finding) []int {
	var out []int
	collectFrames("", f.Evidence, &out)
	if record, ok := f.Evidence["record"].(int); ok && f.Kind == analyze.KindCaptureDamaged {
		out = append(out, record-1)
	}
	return sortedFrames(out)
}

// collectFrames appends the frames v shows under key to out. The
// connections listed as context of an encrypted session
// ("data_connections_by_hosts_and_timing") are not cited.
func collectFrames(key string, v any, out *[]int) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k != "data_connections_by_hosts_and_timing" {
				collectFrames(k, e, out)
			}
		}
	case []map[string]any:
		for _, e := range x {
			collectFrames(key, e, out)
		}
	case int:
		if key == "frame" || strings.HasSuffix(key, "_frame") {
			*out = append(*out, x)
		}
	case []int:
		if strings.HasSuffix(key, "_frames") {
			*out = append(*out, x...)
		}
	}
}

// refFrames collects, sorted and once each, every frame Refs cite.
func refFrames(r analyze.Refs) []int {
	all := []int{r.Offer.Frame, r.CommandFrame, r.RequestFrame, r.AcceptedFrame}
	all = append(all, r.ReplyFrames...)
	all = append(all, r.Frames...)
	return sortedFrames(append(all, r.ICMPFrames...))
}

func sortedFrames(fs []int) []int {
	fs = slices.DeleteFunc(fs, func(f int) bool { return f <= 0 })
	slices.Sort(fs)
	return slices.Compact(fs)
}
