package extract

import (
	"net/netip"
	"strings"
	"testing"

	"ftpdiag/internal/simtrace"
	"ftpdiag/pcap"
)

// TestMaskAfterHole: when the start of a PASS line is missing from the
// capture, the rest is masked in the evidence capture too; a command
// after a hole is left as it is.
func TestMaskAfterHole(t *testing.T) {
	tests := []struct {
		name       string
		lost, rest string
		want       string // the client's bytes after the hole, masked
	}{
		{"PA lost", "PA", "SS sunshine\r\nPWD\r\n", "***********\r\nPWD\r\n"},
		{"PASS and space lost", "PASS ", "sunshine\r\n", "********\r\n"},
		{"cut in the argument, rest split", "PASS sun", "shine", "*****"},
		{"a command after the hole", "NOOP\r\n", "PWD\r\n", "PWD\r\n"},
	}
	const cli, srv = "198.51.100.10:40000", "203.0.113.5:21"
	flow := controlFlow{netip.MustParseAddrPort(cli), netip.MustParseAddrPort(srv)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := simtrace.New()
			c := tr.Conv(cli, srv).Open()
			c.Say(simtrace.Client, "USER bob\r\n")
			c.Seq[simtrace.Client] += uint32(len(tt.lost)) // sent, not captured
			last := c.Packet(simtrace.Client, "PA", tt.rest)
			pm := &passMasker{inPass: map[controlFlow]bool{}}
			dec := pcap.NewDecoder()
			for _, p := range tr.Packets {
				d := dec.Decode(p)
				if d.Kind == pcap.KindTCP && d.TCP.DstPort == 21 {
					pm.mask(p.Data, d, flow)
				}
			}
			if got := string(last.Data[len(last.Data)-len(tt.rest):]); got != tt.want || strings.Contains(got, "sun") {
				t.Errorf("after the hole %q, want %q", got, tt.want)
			}
		})
	}
}
