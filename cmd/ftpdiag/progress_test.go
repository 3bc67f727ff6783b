package main

import (
	"bytes"
	"ftpdiag/analyze"
	"strings"
	"testing"
)

// TestProgressBarLastFrame: stopping the bar draws its last frame, with
// the packet count and "done", and leaves nothing running.
func TestProgressBarLastFrame(t *testing.T) {
	var out bytes.Buffer
	bar := newProgressBar(&out, 100<<20)
	bar.update(analyze.Progress{Packets: 65536, BytesRead: 1 << 20})
	bar.stop()
	if bar.pw.IsRenderInProgress() {
		t.Error("the bar still renders after stop")
	}
	got := out.String()
	if !strings.Contains(got, "65536 packets") || !strings.Contains(got, "done") {
		t.Errorf("last frame: %q", got)
	}
}
