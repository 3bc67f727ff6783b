package ftpflow

import "testing"

func TestConnOutcome(t *testing.T) {
	syn := []Event{{Frame: 1}}
	seen := Event{Frame: 2}
	tests := []struct {
		name string
		c    Conn
		want Outcome
	}{
		{"SYNs never answered", Conn{Handshake: true, SYNs: syn}, OutcomeSYNUnanswered},
		{"RST answers the SYN", Conn{Handshake: true, SYNs: syn, Reset: &Reset{From: Server, Event: seen}}, OutcomeSYNRefused},
		{"opened, then reset", Conn{Handshake: true, SYNs: syn, SYNACK: seen, Bytes: [2]int64{0, 500}, Reset: &Reset{From: Client, Event: seen}}, OutcomeReset},
		{"opened and closed empty", Conn{Handshake: true, SYNs: syn, SYNACK: seen, FIN: [2]Event{seen, seen}}, OutcomeClosedWithoutData},
		{"carried data and closed", Conn{Handshake: true, SYNs: syn, SYNACK: seen, Bytes: [2]int64{0, 900}, FIN: [2]Event{seen, seen}}, OutcomeCompleted},
		{"upload carried data and closed", Conn{Handshake: true, SYNs: syn, SYNACK: seen, Bytes: [2]int64{900, 0}, FIN: [2]Event{seen, {}}}, OutcomeCompleted},
		{"still open at the end", Conn{Handshake: true, SYNs: syn, SYNACK: seen, Bytes: [2]int64{0, 900}}, OutcomeIncomplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Outcome(); got != tt.want {
				t.Errorf("Outcome() = %v; want %v", got, tt.want)
			}
		})
	}
}
