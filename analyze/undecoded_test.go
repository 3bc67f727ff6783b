package analyze_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"ftpdiag/analyze"
	"ftpdiag/report"
)

// TestUndecodedCounted: a frame of an EtherType no decoder knows (MACsec
// here, synthetic) may hide IP and FTP; it is counted and named in the
// statistics and the text report instead of passing silently, while ARP
// (known, no IP) is not.
func TestUndecodedCounted(t *testing.T) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	frame := func(etherType uint16, payload []byte) []byte {
		b := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, byte(etherType >> 8), byte(etherType)}
		return append(b, payload...)
	}
	frames := [][]byte{
		frame(0x0806, make([]byte, 28)), // ARP
		frame(0x88e5, make([]byte, 60)), // MACsec: not decoded
		frame(0x88e5, make([]byte, 60)),
	}
	for i, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000+int64(i), 0), CaptureLength: len(f), Length: len(f)}
		if err := w.WritePacket(ci, f); err != nil {
			t.Fatal(err)
		}
	}
	a, err := analyze.Run(context.Background(), []analyze.Input{{Name: "macsec.pcap", Reader: &buf}}, analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.Stats.Undecoded, 2; got != want {
		t.Errorf("Stats.Undecoded = %d, want %d", got, want)
	}
	if got, want := a.Stats.FirstUndecoded, "frame 2, EtherType 0x88e5"; got != want {
		t.Errorf("Stats.FirstUndecoded = %q, want %q", got, want)
	}
	var text bytes.Buffer
	if err := report.WriteText(&text, a, report.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if want := "2 packets of a protocol not decoded (may hide FTP; first: frame 2, EtherType 0x88e5)"; !strings.Contains(text.String(), want) {
		t.Errorf("text report lacks %q:\n%s", want, text.String())
	}
}
