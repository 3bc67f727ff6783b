package analyze_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"ftpdiag/analyze"
	"ftpdiag/ftpflow"
)

// TestVantageOnFixtures checks the vantage point of every session of every
// fixture capture against where it was taken (the file name's last word:
// client, server, router): it may be unknown, never wrong. The routed
// captures of scenario 16 must be recognised, not only tolerated.
func TestVantageOnFixtures(t *testing.T) {
	files, err := filepath.Glob("../fixtures/captures/*.pcap")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixture captures: %v", err)
	}
	truth := map[string]ftpflow.Vantage{"client": ftpflow.VantageClient, "server": ftpflow.VantageServer, "router": ftpflow.VantageBetween}
	counts := map[ftpflow.Vantage]int{}
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".pcap")
		want, known := truth[base[strings.LastIndexByte(base, '-')+1:]]
		a, _ := analyze.Run(context.Background(), analyze.Files(f), analyze.Options{})
		for _, s := range a.Sessions {
			got := s.Control.Locate()
			counts[got.Side]++
			if known && got.Side != ftpflow.VantageUnknown && got.Side != want {
				t.Errorf("%s session %d: vantage %v (%s); the capture was taken at the %v", base, s.ID, got.Side, got.Reason, want)
			}
			if strings.HasPrefix(base, "16-routed") && got.Side != want {
				t.Errorf("%s session %d: vantage %v (%s); want %v", base, s.ID, got.Side, got.Reason, want)
			}
		}
	}
	t.Logf("vantage over all fixture sessions: %v", counts)
}
