package analyze

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"ftpdiag/ftpflow"
)

// TestHalfOpenKinds checks which finding connections to the control port
// that never became sessions give: all refused is a refused control
// connection (an error), anything else a half-open warning, and a flood a
// flood even when refused.
func TestHalfOpenKinds(t *testing.T) {
	server := netip.MustParseAddrPort("203.0.113.10:21")
	at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name                          string
		unanswered, refused, notAcked int
		kind                          string
		severity                      Severity
		summary                       string
	}{
		{"one refused", 0, 1, 0, KindControlRefused, Error, "the connection to the FTP control port was refused (RST): 203.0.113.10:21"},
		{"three refused", 0, 3, 0, KindControlRefused, Error, "all 3 connections to the FTP control port were refused"},
		{"refused and unanswered", 1, 2, 0, KindControlHalfOpen, Warning, "(1 unanswered, 2 refused, 0 not acknowledged by the client)"},
		{"unanswered", 2, 0, 0, KindControlHalfOpen, Warning, "2 connections to the FTP control port never completed"},
		{"refused flood", 0, halfOpenFlood, 0, KindControlHalfOpen, Warning, "SYN flood at the FTP control port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.unanswered + tt.refused + tt.notAcked
			h := ftpflow.HalfOpen{
				Count: n, Unanswered: tt.unanswered, Refused: tt.refused, NotAcked: tt.notAcked,
				First: ftpflow.Event{Frame: 1, Time: at}, Last: ftpflow.Event{Frame: 2 * n, Time: at.Add(time.Second)},
				Servers: []ftpflow.EndpointCount{{Endpoint: server, Count: n}}, Clients: 1,
			}
			d := newDiag(Options{}, nil)
			d.halfOpen(h)
			if len(d.out) != 1 {
				t.Fatalf("%d findings, want 1", len(d.out))
			}
			f := d.out[0]
			if f.Kind != tt.kind || f.Severity != tt.severity || !strings.Contains(f.Summary, tt.summary) {
				t.Errorf("got %s %s %q; want %s %s containing %q", f.Severity, f.Kind, f.Summary, tt.severity, tt.kind, tt.summary)
			}
			if !strings.Contains(f.Filter, "ip.addr == 203.0.113.10") || f.Refs.Frames == nil && f.Evidence["first_syn_frame"] == nil {
				t.Errorf("filter %q, evidence %v: want the server and the first SYN", f.Filter, f.Evidence)
			}
		})
	}
}
