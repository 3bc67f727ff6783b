package analyze_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
)

// corpusCapture returns the path of a shared-corpus capture, skipping the
// test when the corpus is absent (mandatory under CI).
func corpusCapture(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join("../../shared/corpus", name)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared corpus capture %s missing under CI: %v", name, err)
		}
		t.Skipf("shared corpus capture %s absent: %v", name, err)
	}
	return p
}

// TestVantageFromLateSegments checks, on real captures, the evidence the
// late segments and the Ethernet addresses add to the vantage point: a
// server data segment that reached a client-side capture after a later one
// (ndpi/ftp.pcap, frame 74, passive mode) is credited to the server side
// of the control connection and agrees with the TTLs; addresses that are
// the same both ways (crafted or rewritten) are named and not believed.
func TestVantageFromLateSegments(t *testing.T) {
	tests := []struct {
		file     string
		want     ftpflow.Vantage
		late     [2]bool
		lateAt   int // first late frame on the control connection's record, 0 if none
		inReason string
	}{
		{"ndpi/ftp.pcap", ftpflow.VantageClient, [2]bool{false, true}, 74, "1 server segment(s) reached the capture point after later ones (first: frame 74)"},
		{"ndpi/ftp-start-tls.pcap", ftpflow.VantageUnknown, [2]bool{}, 0, "rewritten or made up"},
		{"suricata-verify/ftp-retr-bypass-baseline_input.pcap", ftpflow.VantageUnknown, [2]bool{}, 0, "rewritten or made up"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			a, _ := analyze.Run(context.Background(), analyze.Files(corpusCapture(t, tt.file)), analyze.Options{})
			if len(a.Sessions) == 0 {
				t.Fatal("no session")
			}
			c := a.Sessions[0].Control
			v := c.Locate()
			if v.Side != tt.want || !strings.Contains(v.Reason, tt.inReason) {
				t.Errorf("vantage %v (%s); want %v with %q", v.Side, v.Reason, tt.want, tt.inReason)
			}
			for _, side := range []ftpflow.Side{ftpflow.Client, ftpflow.Server} {
				if got := c.TTL[side].Late > 0; got != tt.late[side] {
					t.Errorf("%s late segments: %d; want some: %v", side, c.TTL[side].Late, tt.late[side])
				}
			}
			if tt.lateAt != 0 && c.TTL[ftpflow.Server].LateFrame.Frame != tt.lateAt {
				t.Errorf("first late frame %d; want %d", c.TTL[ftpflow.Server].LateFrame.Frame, tt.lateAt)
			}
		})
	}
}
