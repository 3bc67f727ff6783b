package analyze

import (
	"context"
	"strings"
	"testing"

	"ftpdiag/internal/simtrace"
)

// TestProtectedChannelFinding: an RFC 2228 (GSSAPI) protected control
// channel and one that is TLS from the capture's first byte are reported
// as control_channel_encrypted, saying how they were protected and that
// the endpoints cannot be read; neither speaks of a 234 it never saw.
func TestProtectedChannelFinding(t *testing.T) {
	const cli, srv = "198.51.100.10:40000", "203.0.113.5:2811"
	tests := []struct {
		name    string
		script  []string // "C " or "S " and what that side says
		summary string
		expl    string
	}{
		{"GSSAPI", []string{"S 220 GridFTP Server ready\r\n", "C AUTH GSSAPI\r\n", "S 334 ADAT must follow\r\n",
			"C ADAT FgMBAgAB\r\n", "S 235 ADAT=FAMDAAEB\r\n", "C ENC FwMDAFy3\r\n", "S 633 FwMDAHQ2\r\n"},
			"control channel protected (RFC 2228) after AUTH GSSAPI", "ADAT"},
		{"TLS from the first byte", []string{"C \x17\x03\x03\x00\x01x", "S \x17\x03\x03\x00\x01y"},
			"control channel encrypted from the start of the capture", "The capture began after the control channel was protected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := simtrace.New()
			server := srv
			if tt.name != "GSSAPI" {
				server = "203.0.113.5:21"
			}
			c := tr.Conv(cli, server)
			for _, line := range tt.script {
				side := simtrace.Client
				if line[0] == 'S' {
					side = simtrace.Server
				}
				c.Say(side, line[2:])
			}
			a, err := Packets(context.Background(), &source{ps: tr.Packets}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range a.Findings {
				if f.Kind != KindControlEncrypted {
					continue
				}
				if !strings.HasPrefix(f.Summary, tt.summary) || !strings.Contains(f.Explanation, tt.expl) || strings.Contains(f.Explanation, "234") {
					t.Errorf("summary %q\nexplanation %q", f.Summary, f.Explanation)
				}
				return
			}
			t.Errorf("no %s finding in %+v", KindControlEncrypted, a.Findings)
		})
	}
}
